package store

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	"github.com/grpcplay/playground/pb"
)

// DefaultSeed is the tutorial's data set, loaded into a new store unless
// another seed file is named.
//
//go:embed users.json
var DefaultSeed []byte

// seedUser is one entry of a seed file, as the tutorial writes it.
type seedUser struct {
	ID          uint32 `json:"id"`
	Nickname    string `json:"nickname"`
	MailAddress string `json:"mail_address"`
	UserType    string `json:"user_type"`
}

// ParseSeed reads a seed file: a JSON object of users keyed by their id as a
// string, user_type written as the enum's name. It returns the users in
// ascending id order and rejects a key that disagrees with its user's id or
// an unknown type name.
func ParseSeed(r io.Reader) ([]*pb.User, error) {
	var raw map[string]seedUser
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	users := make([]*pb.User, 0, len(raw))
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		su := raw[key]
		if id, err := strconv.ParseUint(key, 10, 32); err != nil || uint32(id) != su.ID {
			return nil, fmt.Errorf("seed: key %q does not match the user's id %d", key, su.ID)
		}
		t, ok := pb.User_UserType_value[su.UserType]
		if !ok {
			return nil, fmt.Errorf("seed: user %d: unknown user_type %q", su.ID, su.UserType)
		}
		users = append(users, &pb.User{Id: su.ID, Nickname: su.Nickname, MailAddress: su.MailAddress, UserType: pb.User_UserType(t)})
	}
	slices.SortFunc(users, func(a, b *pb.User) int { return int(int64(a.Id) - int64(b.Id)) })
	return users, nil
}
