package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
)

// Exit statuses. An in-band reply ("not found", "already exist") is exitOK:
// the call succeeded with status OK and its answer is printed; scripts see
// it as "error": true in -json output.
const (
	exitOK    = 0 // the call ended with status OK
	exitFail  = 1 // the call failed: a line on stderr names its status code
	exitUsage = 2 // bad flags or arguments: the usage text on stderr
)

// options are the flags, which come before the subcommand.
type options struct {
	addr      string
	transport string
	timeout   time.Duration
	json      bool
	header    headerFlag
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("usercli", flag.ContinueOnError)
	fs.Usage = func() {} // run prints the usage itself, to stdout for -h
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "the playground server's `host:port`")
	fs.StringVar(&o.transport, "transport", transportNative,
		"the transport `name`: native (gRPC over HTTP/2), grpcweb (gRPC-Web over HTTP, the\nWebSocket bridge for client and bidi streaming), websocket (every call over the\nbridge) or mux (every call on one multiplexed WebSocket, grpc-mux.v1)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of the call, sent to the server; 0 for none")
	fs.BoolVar(&o.json, "json", false, "print each reply message as one line of protojson (proto field names)")
	fs.Var(&o.header, "H", "request metadata `'name: value'`, repeatable; a name ending in -bin takes a base64 value")
	return fs
}

// run is the whole command: it parses args, makes the call and prints its
// replies to stdout and any failure to stderr, and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o)
	fs.SetOutput(stderr) // flag's own message for a bad flag
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return exitOK
		}
		printUsage(stderr, fs)
		return exitUsage
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "usercli: "+format+"\n", a...)
		printUsage(stderr, fs)
		return exitUsage
	}
	if !slices.Contains(transportNames(), o.transport) {
		return usageError("-transport %q: want one of %s", o.transport, strings.Join(transportNames(), ", "))
	}
	if _, port, err := net.SplitHostPort(o.addr); err != nil || port == "" {
		return usageError("-addr %q: want host:port, such as 127.0.0.1:8080", o.addr)
	}
	if o.timeout < 0 {
		return usageError("-timeout %v: must not be negative", o.timeout)
	}
	if fs.NArg() == 0 {
		return usageError("no subcommand")
	}
	cmd, ok := findCommand(fs.Arg(0))
	if !ok {
		return usageError("unknown subcommand %q", fs.Arg(0))
	}
	c, err := cmd.parse(fs.Args()[1:])
	if err != nil {
		return usageError("%s: %v", cmd.name, err)
	}

	cc, err := dial(o.transport, o.addr)
	if err != nil {
		fmt.Fprintf(stderr, "usercli: %v\n", err)
		return exitFail
	}
	defer cc.Close()
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	// Ending the context at return releases whatever stream is left.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.header.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, o.header.md)
	}
	if err := c(ctx, pb.NewUserManagerClient(cc), &printer{w: stdout, json: o.json}); err != nil {
		fmt.Fprintf(stderr, "usercli: %s: %s\n", cmd.name, describe(err))
		return exitFail
	}
	return exitOK
}

// describe puts a call's failure on one line: "Code: message" for a gRPC
// status, the error itself otherwise (a failure to write the output).
func describe(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return oneLine(err.Error())
	}
	return fmt.Sprintf("%s: %s", st.Code(), oneLine(st.Message()))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// printUsage writes the usage text: synopsis, subcommands, flags, and what
// the exit status means.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `usage: usercli [flags] SUBCOMMAND [ARGUMENTS]

Calls the playground's UserManager service, as the tutorial's grpc_client.py does.

subcommands:
`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.about)
	}
	tw.Flush()
	fmt.Fprintf(w, `
ID is a whole number; TYPE is a name (%s; any case) or a number.
Subcommand names may be written in any case.

flags (before the subcommand):
`, typeNames())
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprint(w, `
Output: one line per reply message, printed as it arrives; with -json one protojson
object per line. The server's in-band replies read "in-band error: not found" and
"in-band error: already exist" ({"error":true,"message":"not found"} with -json).

Exit status: 0 when the call ended with status OK, in-band replies included (the call
worked, and its answer is printed); 1 when it failed, with one line on stderr naming the
gRPC status code ("usercli: GetUser: Unavailable: ..."); 2 for bad flags or arguments.

examples:
  usercli GetUser 1
  usercli AddUser 7 nick nick@example.com NORMAL
  usercli -transport grpcweb GetUsersByType normal
  usercli -transport websocket -json CountAlreadyUsers 1 2 99
  usercli -H 'x-trace: abc' GetUsersByIds 1 2 99
`)
}
