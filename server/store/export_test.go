package store

// CheckInProcess checks the store file at path in this process, as OpenBolt
// does where it cannot start a checker, and returns OpenBolt's error.
func CheckInProcess(path string) error {
	if err := checkFile(path, nil); err != nil {
		return describe(path, err)
	}
	return nil
}
