package usermanager

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
)

// Field limits for AddUser: the contract sets none, we keep stored users
// small and printable.
const (
	maxNicknameLen = 64
	maxMailLen     = 254 // RFC 5321's limit for a forward path
)

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

func validateID(id uint32) error {
	if id == 0 {
		return invalid("id: must be greater than 0")
	}
	return nil
}

// ValidateUser reports, as an InvalidArgument status naming the field, why u
// cannot be stored.
func ValidateUser(u *pb.User) error {
	if err := validateID(u.GetId()); err != nil {
		return err
	}
	nick := u.GetNickname()
	switch {
	case nick == "":
		return invalid("nickname: must not be empty")
	case !utf8.ValidString(nick):
		return invalid("nickname: must be valid UTF-8")
	case utf8.RuneCountInString(nick) > maxNicknameLen:
		return invalid("nickname: must be at most %d characters", maxNicknameLen)
	case strings.IndexFunc(nick, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return invalid("nickname: %q has a control or other unprintable character", nick)
	}
	addr := u.GetMailAddress()
	if addr == "" {
		return invalid("mail_address: must not be empty")
	}
	if len(addr) > maxMailLen {
		return invalid("mail_address: must be at most %d bytes", maxMailLen)
	}
	if parsed, err := mail.ParseAddress(addr); err != nil || parsed.Address != addr {
		return invalid("mail_address: %q is not a plain mail address such as name@example.com", addr)
	}
	if _, ok := pb.User_UserType_name[int32(u.GetUserType())]; !ok {
		return invalid("user_type: %d is not a known user type", u.GetUserType())
	}
	return nil
}

func validateType(t pb.UserTypeRequest_UserType) error {
	if _, ok := pb.UserTypeRequest_UserType_name[int32(t)]; !ok {
		return invalid("user_type: %d is not a known user type", t)
	}
	return nil
}
