package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/grpcplay/playground/pb"
)

// command is one subcommand: the UserManager method it calls, its
// arguments for the usage text, and how it turns them into a call.
type command struct {
	name  string // the method's name, as the tutorial's client takes it
	args  string
	about string
	parse func(args []string) (call, error)
}

// call makes one call on users, the generated client over any transport,
// and prints its replies with p as they come.
type call func(ctx context.Context, users pb.UserManagerClient, p *printer) error

// commands lists the subcommands in the order the usage text shows them.
func commands() []command {
	return []command{
		{"GetUser", "ID", "the user with that id (unary)", parseGetUser},
		{"AddUser", "ID NICKNAME MAIL TYPE", "store a new user (unary)", parseAddUser},
		{"GetUsersByType", "TYPE", "every user of that type, in id order (server streaming)", parseGetUsersByType},
		{"CountAlreadyUsers", "ID...", "how many of the ids exist, a repeated id counting again (client streaming)", parseCountAlreadyUsers},
		{"GetUsersByIds", "ID...", "the user of each id that exists, printed as it comes (bidirectional)", parseGetUsersByIds},
	}
}

// findCommand returns the subcommand called name, in any case.
func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if strings.EqualFold(c.name, name) {
			return c, true
		}
	}
	return command{}, false
}

func parseGetUser(args []string) (call, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("want one ID, got %d arguments", len(args))
	}
	id, err := parseID(args[0])
	if err != nil {
		return nil, err
	}
	req := &pb.UserRequest{Id: id}
	return func(ctx context.Context, users pb.UserManagerClient, p *printer) error {
		resp, err := users.GetUser(ctx, req)
		if err != nil {
			return err
		}
		return p.response(resp)
	}, nil
}

func parseAddUser(args []string) (call, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("want ID NICKNAME MAIL TYPE, got %d arguments", len(args))
	}
	id, err := parseID(args[0])
	if err != nil {
		return nil, err
	}
	typ, err := parseType(args[3])
	if err != nil {
		return nil, err
	}
	req := &pb.User{Id: id, Nickname: args[1], MailAddress: args[2], UserType: pb.User_UserType(typ)}
	return func(ctx context.Context, users pb.UserManagerClient, p *printer) error {
		resp, err := users.AddUser(ctx, req)
		if err != nil {
			return err
		}
		return p.response(resp)
	}, nil
}

func parseGetUsersByType(args []string) (call, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("want one TYPE, got %d arguments", len(args))
	}
	typ, err := parseType(args[0])
	if err != nil {
		return nil, err
	}
	req := &pb.UserTypeRequest{UserType: pb.UserTypeRequest_UserType(typ)}
	return func(ctx context.Context, users pb.UserManagerClient, p *printer) error {
		stream, err := users.GetUsersByType(ctx, req)
		if err != nil {
			return err
		}
		n, err := printUsers(stream.Recv, p)
		if err != nil {
			return err
		}
		if n == 0 {
			return p.note("no users of type %s", req.GetUserType())
		}
		return nil
	}, nil
}

func parseCountAlreadyUsers(args []string) (call, error) {
	ids, err := parseIDs(args)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, users pb.UserManagerClient, p *printer) error {
		stream, err := users.CountAlreadyUsers(ctx)
		if err != nil {
			return err
		}
		if err := sendIDs(stream.Send, ids); err != nil {
			return err
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return err
		}
		return p.count(resp, len(ids))
	}, nil
}

func parseGetUsersByIds(args []string) (call, error) {
	ids, err := parseIDs(args)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, users pb.UserManagerClient, p *printer) error {
		// Cancelling ends the call, and so unblocks the sender, whenever
		// receiving stops early.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := users.GetUsersByIds(ctx)
		if err != nil {
			return err
		}
		sent := make(chan error, 1)
		go func() {
			err := sendIDs(stream.Send, ids)
			if err == nil {
				err = stream.CloseSend()
			}
			sent <- err
		}()
		n, err := printUsers(stream.Recv, p)
		if err != nil {
			cancel()
			<-sent
			return err
		}
		if err := <-sent; err != nil {
			return err
		}
		if n == 0 {
			return p.note("no user has any of those ids")
		}
		return nil
	}, nil
}

// printUsers prints every message recv returns as it arrives, and returns
// how many there were. The stream's status OK (io.EOF) is a nil error.
func printUsers(recv func() (*pb.UserResponse, error), p *printer) (int, error) {
	for n := 0; ; n++ {
		resp, err := recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := p.response(resp); err != nil {
			return n, err
		}
	}
}

// sendIDs sends one request per id with send. It stops without error when
// the call has already ended (io.EOF): receiving reports how it ended.
func sendIDs(send func(*pb.UserRequest) error, ids []uint32) error {
	for _, id := range ids {
		err := send(&pb.UserRequest{Id: id})
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseID parses a user id. 0 is let through: the server's answer to it,
// InvalidArgument, is the contract's.
func parseID(s string) (uint32, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("ID %q: want a whole number from 1 to %d", s, uint32(1<<32-1))
	}
	return uint32(id), nil
}

func parseIDs(args []string) ([]uint32, error) {
	if len(args) == 0 {
		return nil, errors.New("want at least one ID")
	}
	ids := make([]uint32, len(args))
	for i, a := range args {
		id, err := parseID(a)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

// parseType parses a user type: its name in any case (NORMAL, normal) or
// its number. A number the enum does not know is let through, for the
// server to answer with InvalidArgument.
func parseType(s string) (int32, error) {
	if n, ok := pb.User_UserType_value[strings.ToUpper(s)]; ok {
		return n, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("TYPE %q: want %s or a number", s, typeNames())
	}
	return int32(n), nil
}

// typeNames lists the user types' names in number order.
func typeNames() string {
	nums := make([]int32, 0, len(pb.User_UserType_name))
	for n := range pb.User_UserType_name {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	names := make([]string, len(nums))
	for i, n := range nums {
		names[i] = pb.User_UserType_name[n]
	}
	return strings.Join(names, ", ")
}
