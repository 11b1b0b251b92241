package explorer

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ParseDeadline reads the page's deadline field: a Go duration ("5s",
// "250ms", "1m30s") or a number of seconds ("2.5"). Empty means no
// deadline, and returns 0.
func ParseDeadline(text string) (time.Duration, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		secs, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil {
			return 0, errors.New("deadline: " + strconv.Quote(text) + " is not a duration (5s, 250ms) or a number of seconds")
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, errors.New("deadline: must be more than zero, or empty for none")
	}
	return d, nil
}
