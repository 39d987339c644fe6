package lab

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"github.com/runbookhq/runbook/lab/shell"
	"github.com/runbookhq/runbook/runbook/transport/driverproto"
	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// session is one "session" channel: env, exec, shell or the sftp subsystem.
type session struct {
	n  *node
	sc *ssh.ServerConn
	ch ssh.Channel

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	env     map[string]string
	pty     bool
	started bool
	signal  string // the signal that cancelled the command, if any
}

func newSession(n *node, sc *ssh.ServerConn, ch ssh.Channel) *session {
	ctx, cancel := context.WithCancel(n.lab.ctx)
	return &session{n: n, sc: sc, ch: ch, ctx: ctx, cancel: cancel, env: map[string]string{}}
}

// serve handles the channel's requests until the channel closes; closing
// it cancels whatever it runs.
func (s *session) serve(reqs <-chan *ssh.Request) {
	defer s.cancel()
	for r := range reqs {
		ok := false
		var run func() // started once the request is answered
		switch r.Type {
		case "env":
			var kv struct{ Name, Value string }
			if ssh.Unmarshal(r.Payload, &kv) == nil && kv.Name != "" && !strings.ContainsAny(kv.Name, "=\x00") {
				s.mu.Lock()
				s.env[kv.Name] = kv.Value
				s.mu.Unlock()
				ok = true
			}
		case "pty-req":
			s.mu.Lock()
			s.pty = true
			s.mu.Unlock()
			ok = true
		case "window-change":
			ok = true
		case "exec":
			var cmd struct{ Command string }
			if ssh.Unmarshal(r.Payload, &cmd) == nil && s.start() {
				ok = true
				run = func() { s.exec(cmd.Command) }
			}
		case "shell":
			if s.start() {
				ok = true
				run = s.shell
			}
		case "subsystem":
			var sub struct{ Name string }
			if ssh.Unmarshal(r.Payload, &sub) == nil && sub.Name == "sftp" && s.start() {
				ok = true
				run = s.sftp
			}
		case "signal":
			var sig struct{ Signal string }
			if ssh.Unmarshal(r.Payload, &sig) == nil {
				s.mu.Lock()
				if s.signal == "" {
					s.signal = strings.TrimPrefix(sig.Signal, "SIG")
				}
				s.mu.Unlock()
				s.cancel()
				ok = true
			}
		}
		if r.WantReply {
			_ = r.Reply(ok, nil)
		}
		if run != nil {
			s.n.lab.wg.Add(1)
			go func() {
				defer s.n.lab.wg.Done()
				s.use(run)
			}()
		}
	}
}

// use runs the channel's program with the node's root open (the world
// keeps open only the roots of nodes at work).
func (s *session) use(run func()) {
	_, release, err := s.n.lab.world.Use(s.n.name)
	if err != nil {
		fmt.Fprintf(s.ch.Stderr(), "lab: %s: %v\n", s.n.name, err)
		s.finish(255)
		s.ch.Close()
		return
	}
	defer release()
	run()
}

// start marks the channel as running its one program.
func (s *session) start() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return false
	}
	s.started = true
	return true
}

func (s *session) envCopy() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.env))
	for k, v := range s.env {
		out[k] = v
	}
	return out
}

// delay applies the slow fault; it reports false when the command was
// cancelled meanwhile.
func (s *session) delay() bool {
	if s.n.faults.Slow <= 0 {
		return true
	}
	t := time.NewTimer(s.n.faults.Slow)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// exec runs one command line in the node's shell.
func (s *session) exec(command string) {
	defer s.ch.Close()
	defer s.n.procs.start([]string{"sh", "-c", command})()
	if nonce, ok := driverproto.Nonce(command); ok {
		s.driver(nonce)
		return
	}
	if !s.admit() {
		return
	}
	code := 130
	if s.delay() {
		code = shell.Run(s.ctx, s.n.m, command, s.ch, s.ch, s.ch.Stderr(), shell.WithEnv(s.envCopy()), shell.WithDir("/root"))
	}
	s.finish(code)
}

// admit counts one more command towards the unreachable_after fault; when
// the node has become unreachable, it drops every connection instead and
// reports false.
func (s *session) admit() bool {
	if s.n.countExec() {
		return true
	}
	s.n.lab.logf("lab: %s: unreachable (unreachable_after %d)", s.n.name, s.n.faults.UnreachableAfter)
	s.n.dropAll()
	return false
}

// driver serves runbook's driver protocol (package driverproto): the
// commands of a connection arrive one after another on the session's
// standard input, and each is a command of the node as an exec request
// is: it counts towards unreachable_after and waits out the slow fault. A
// signal request cancels the session as a whole, the command running
// included.
func (s *session) driver(nonce string) {
	marks := func(nonce string, status int) {
		io.WriteString(s.ch, driverproto.StatusMarker(nonce, status))
		io.WriteString(s.ch.Stderr(), driverproto.EndMarker(nonce))
	}
	marks(nonce, 0)
	in := bufio.NewReader(s.ch)
	for {
		nonce, code, ok := driverproto.ReadRequest(in)
		if !ok {
			s.finish(0) // the end of input ends the driver
			return
		}
		if !s.admit() {
			return
		}
		if !s.delay() {
			break
		}
		status := shell.Run(s.ctx, s.n.m, code, nil, s.ch, s.ch.Stderr(), shell.WithEnv(s.envCopy()), shell.WithDir("/root"))
		if s.ctx.Err() != nil {
			break
		}
		marks(nonce, status)
		if s.n.goDown() { // the command rebooted the node
			return
		}
	}
	// A command cut off by a signal, or by the slow fault's wait, ends the
	// driver as an interrupted exec ends.
	s.finish(130)
}

// finish reports how the command ended: exit-signal when a signal request
// stopped it, else exit-status; then completes a reboot the command asked for.
func (s *session) finish(code int) {
	s.mu.Lock()
	sig := s.signal
	s.mu.Unlock()
	if sig != "" {
		msg := struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: sig}
		_, _ = s.ch.SendRequest("exit-signal", false, ssh.Marshal(&msg))
	} else {
		_, _ = s.ch.SendRequest("exit-status", false, ssh.Marshal(&struct{ Status uint32 }{uint32(code)}))
	}
	_ = s.ch.CloseWrite()
	s.n.goDown()
}

// shell serves an interactive login: with a pty, a line editor running one
// command line at a time; without, the standard input is the script.
func (s *session) shell() {
	defer s.ch.Close()
	s.mu.Lock()
	pty := s.pty
	s.mu.Unlock()
	if !pty {
		script, err := io.ReadAll(io.LimitReader(s.ch, 16<<20))
		if err != nil {
			s.finish(1)
			return
		}
		if !s.n.countExec() {
			s.n.dropAll()
			return
		}
		code := 130
		if s.delay() {
			code = shell.Run(s.ctx, s.n.m, string(script), nil, s.ch, s.ch.Stderr(), shell.WithEnv(s.envCopy()), shell.WithDir("/root"))
		}
		s.finish(code)
		return
	}
	t := term.NewTerminal(s.ch, fmt.Sprintf("root@%s:~# ", s.n.name))
	dir := "/root"
	code := 0
	for {
		line, err := t.ReadLine()
		if err != nil {
			break
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if line == "exit" || line == "logout" {
			break
		}
		if !s.n.countExec() {
			s.n.dropAll()
			return
		}
		if !s.delay() {
			break
		}
		out := t // the terminal turns "\n" into "\r\n"
		// Each line runs on its own; a cd line moves the next ones.
		if f := strings.Fields(line); f[0] == "cd" {
			var where strings.Builder
			code = shell.Run(s.ctx, s.n.m, line+" && pwd", nil, &where, out, shell.WithEnv(s.envCopy()), shell.WithDir(dir))
			if code == 0 {
				dir = strings.TrimSpace(where.String())
			}
			continue
		}
		code = shell.Run(s.ctx, s.n.m, line, nil, out, out, shell.WithEnv(s.envCopy()), shell.WithDir(dir))
	}
	s.finish(code)
}

// sftp serves the sftp subsystem on the node's confined file tree.
func (s *session) sftp() {
	defer s.ch.Close()
	srv := sftp.NewRequestServer(s.ch, sftpHandlers(s.n.m.FS()), sftp.WithStartDirectory(sftpHome))
	go func() {
		<-s.ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(); err != nil && err != io.EOF {
		s.n.lab.logf("lab: %s: sftp: %v", s.n.name, err)
	}
	srv.Close()
}
