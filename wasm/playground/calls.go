//go:build js && wasm && !explorer

package main

import (
	"context"
	"io"
	"strconv"
	"sync"

	"google.golang.org/grpc/codes"

	"google.golang.org/grpc/metadata"

	pb "github.com/grpcplay/playground/pb/browserpb"
	"github.com/grpcplay/playground/wasm/client"
)

// page is the playground: the client, the connection banner and the cards.
type page struct {
	users *userManager
	// backend is the gRPC server the page's server fronts (-backend), or "".
	backend string
	conn    elem
	frames  *frames
	health  *client.Conn // polls grpc.health.v1 for the banner

	mu     sync.Mutex
	isDown bool

	getUser, addUser, byType, count, byIDs *card
}

func newPage(users *userManager) *page {
	p := &page{users: users, conn: byID("conn"), frames: newFrames()}
	p.getUser = newCard(p, "GetUser")
	p.addUser = newCard(p, "AddUser")
	p.byType = newCard(p, "GetUsersByType")
	p.count = newCard(p, "CountAlreadyUsers")
	p.byIDs = newCard(p, "GetUsersByIds")
	return p
}

func (p *page) up() {
	p.mu.Lock()
	p.isDown = false
	p.mu.Unlock()
	p.conn.v.Set("className", "conn up")
	if p.backend != "" {
		p.conn.setText("Ready · the backend " + p.backend + " is serving")
		return
	}
	p.conn.setText("Ready · Go client running")
}

func (p *page) down(msg string) {
	p.mu.Lock()
	p.isDown = true
	p.mu.Unlock()
	p.conn.v.Set("className", "conn down")
	p.conn.setText(msg)
}

// observe keeps the banner true to the last call: Unavailable means the
// server went away; any other answer means it is there (the health poll
// says whether its backend is).
func (p *page) observe(code codes.Code) {
	if code == codes.Unavailable {
		p.down(notAnswering)
		return
	}
	p.mu.Lock()
	down := p.isDown
	p.mu.Unlock()
	if down {
		go p.checkHealth() // the next check says whether it is all back
	}
}

// notAnswering is the banner while the page's own server does not answer.
const notAnswering = "The server is not answering (Unavailable). Is it still running?"

// wire connects every card's buttons to its call.
func (p *page) wire() {
	p.getUser.root.find("form").on("submit", p.callGetUser)
	p.getUser.buttons("call")

	p.addUser.root.find("form").on("submit", p.callAddUser)
	p.addUser.buttons("call")

	p.byType.root.find("form").on("submit", p.callGetUsersByType)
	p.byType.button("cancel").on("click", p.byType.abort)
	p.byType.buttons("call")

	p.wireCount()
	p.count.buttons("open")
	p.wireByIDs()
	p.byIDs.buttons("open")
}

func (p *page) callGetUser() {
	c := p.getUser
	id, err := parseID(c.field("id").value())
	if err != nil {
		c.refuse(err.Error())
		return
	}
	c.buttons()
	defer c.buttons("call")
	ctx := c.begin()
	var header, trailer metadata.MD
	c.logf("→ UserRequest{id: " + c.field("id").value() + "}")
	r, err := p.users.GetUser(ctx, &pb.UserRequest{Id: id}, client.Header(&header), client.Trailer(&trailer))
	if err == nil {
		c.received(r)
	}
	c.end(err, header, trailer)
}

func (p *page) callAddUser() {
	c := p.addUser
	id, err := parseID(c.field("id").value())
	if err != nil {
		c.refuse(err.Error())
		return
	}
	u := &pb.User{
		Id:          id,
		Nickname:    c.field("nickname").value(),
		MailAddress: c.field("mail_address").value(),
		UserType:    pb.User_UserType(pb.User_UserType_value[c.field("user_type").value()]),
	}
	c.buttons()
	defer c.buttons("call")
	ctx := c.begin()
	var header, trailer metadata.MD
	c.logf("→ User{" + describe(u) + "}")
	r, err := p.users.AddUser(ctx, u, client.Header(&header), client.Trailer(&trailer))
	if err == nil {
		c.received(r)
	}
	c.end(err, header, trailer)
}

func (p *page) callGetUsersByType() {
	c := p.byType
	typ := c.field("user_type").value()
	c.buttons("cancel")
	defer c.buttons("call")
	ctx := c.begin()
	c.logf("→ UserTypeRequest{user_type: " + typ + "}")
	s, err := p.users.GetUsersByType(ctx, &pb.UserTypeRequest{UserType: pb.UserTypeRequest_UserType(pb.UserTypeRequest_UserType_value[typ])})
	if err != nil {
		c.end(err, nil, nil)
		return
	}
	for {
		r, err := s.Recv()
		if err != nil {
			header, _ := s.Header()
			c.end(err, header, s.Trailer())
			return
		}
		n := c.received(r)
		c.setProgress(strconv.Itoa(n) + " users · " + ms(c.elapsed()))
	}
}

// slot holds a card's open stream, if any, for its buttons' handlers.
type slot[T any] struct {
	mu  sync.Mutex
	cur *T
}

func (s *slot[T]) set(v *T) {
	s.mu.Lock()
	s.cur = v
	s.mu.Unlock()
}

func (s *slot[T]) get() *T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// take returns the stream and empties the slot, so only one handler ends it.
func (s *slot[T]) take() *T {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.cur
	s.cur = nil
	return cur
}

// openStream starts a card's client or bidi stream with call and keeps it
// in open. It returns nil, the failure shown, when the stream cannot start.
func openStream[T any](c *card, open *slot[T], call func(context.Context, ...client.CallOption) (*T, error)) *T {
	c.buttons()
	cur, err := call(c.begin())
	if err != nil {
		c.end(err, nil, nil)
		c.buttons("open")
		return nil
	}
	open.set(cur)
	c.logf("stream open")
	c.buttons("send", "close-send", "cancel")
	return cur
}

// sendID sends the card's id field on an open stream, showing it as sent.
// It reports false when the stream has ended.
func (c *card) sendID(send func(*pb.UserRequest) error) bool {
	id, err := parseID(c.field("id").value())
	if err != nil {
		c.fail(err.Error())
		return true
	}
	if err := send(&pb.UserRequest{Id: id}); err != nil {
		return false
	}
	c.sentID(id)
	return true
}

// wireCount drives CountAlreadyUsers: open, send ids one at a time, finish
// (half-close) for the count, or cancel.
func (p *page) wireCount() {
	c := p.count
	var open slot[countStream]
	finish := func(cur *countStream) {
		r, err := cur.CloseAndRecv()
		if err == nil {
			n := strconv.Itoa(int(r.GetUserCnt()))
			c.root.find(`[data-role="count"]`).setText(n)
			c.logf("← UserCntResponse{user_cnt: " + n + "}")
		}
		header, _ := cur.Header()
		c.end(err, header, cur.Trailer())
		c.buttons("open")
	}
	c.button("open").on("click", func() {
		c.root.find(`[data-role="count"]`).clear()
		openStream(c, &open, p.users.CountAlreadyUsers)
	})
	c.root.find("form").on("submit", func() {
		cur := open.get()
		if cur == nil || c.sendID(cur.Send) {
			return
		}
		if cur := open.take(); cur != nil {
			finish(cur) // the stream ended: show why
		}
	})
	c.button("close-send").on("click", func() {
		if cur := open.take(); cur != nil {
			c.buttons()
			c.logf("→ half-close")
			finish(cur)
		}
	})
	c.button("cancel").on("click", func() {
		if cur := open.take(); cur != nil {
			c.buttons()
			c.abort()
			finish(cur)
		}
	})
}

// wireByIDs drives GetUsersByIds: open, send ids one at a time while a
// receiver shows each reply as it arrives, close (half-close), or cancel.
func (p *page) wireByIDs() {
	c := p.byIDs
	var open slot[byIDsStream]
	c.button("open").on("click", func() {
		cur := openStream(c, &open, p.users.GetUsersByIds)
		if cur == nil {
			return
		}
		for { // the receiver: runs until the stream ends
			r, err := cur.Recv()
			if err != nil {
				open.take()
				if err == io.EOF {
					c.logf("← end of stream")
				}
				header, _ := cur.Header()
				c.end(err, header, cur.Trailer())
				c.buttons("open")
				return
			}
			c.received(r)
		}
	})
	c.root.find("form").on("submit", func() {
		if cur := open.get(); cur != nil {
			c.sendID(cur.Send) // an ended stream shows why through its receiver
		}
	})
	c.button("close-send").on("click", func() {
		if cur := open.get(); cur != nil {
			c.buttons("cancel")
			c.logf("→ half-close")
			cur.CloseSend()
		}
	})
	c.button("cancel").on("click", c.abort)
}
