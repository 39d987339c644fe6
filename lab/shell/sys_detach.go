package shell

import (
	"context"
	"fmt"

	"github.com/runbookhq/runbook/internal/ctxio"
)

func init() {
	register(map[string]Program{
		"setsid": runSetsid,
		"nohup":  runNohup,
	})
}

// detach runs a copy of c with args in the background, on a context that
// the end of c's command does not cancel (Machine.Detach). done, when not
// nil, receives the exit status.
func detach(c *Call, args []string, done chan<- int) {
	sub := *c
	sub.Args = args
	sub.Stdin = ctxio.Underlying(sub.Stdin) // read on the job's own context
	job := func(ctx context.Context) {
		sub.Ctx = ctx
		code := Exec(&sub)
		if done != nil {
			done <- code
		}
	}
	if c.Machine.Detach != nil {
		c.Machine.Detach(job)
		return
	}
	// No one to hand the job to: it ends with the command that started it
	// rather than run on unbounded.
	go job(c.Ctx)
}

// runSetsid is `setsid [-f] [-w] [-c] PROGRAM [ARG...]`: the program runs in
// a new session. With -f it is detached and outlives the command that
// started it (as `setsid -f sh -c 'sleep 2; reboot'` does); with -w setsid
// waits for it and returns its status. Without either it runs in the
// foreground.
func runSetsid(c *Call) int {
	const usage = "setsid [options] <program> [arguments ...]"
	opts, rest, ok := c.parse(c.Args[1:], optSpec{short: "cfw", long: map[string]string{"ctty": "c", "fork": "f", "wait": "w"}, posix: true, usage: usage})
	if !ok {
		return 1
	}
	if len(rest) == 0 {
		c.usageErr(usage, "no command specified")
		return 1
	}
	switch {
	case opts.has("w"):
		// A new session that is waited for: a hangup of the caller's
		// session does not reach it, but its status is reported.
		done := make(chan int, 1)
		detach(c, rest, done)
		select {
		case code := <-done:
			return code
		case <-c.Ctx.Done():
			return 130
		}
	case opts.has("f"):
		detach(c, rest, nil)
		return 0
	}
	sub := *c
	sub.Args = rest
	return Exec(&sub)
}

// runNohup is `nohup PROGRAM [ARG...]`: the program ignores the hangup that
// ends the caller's session, so it keeps running after the command (or SSH
// session) that started it is gone; the caller still waits for it while it
// lasts. Output is not redirected to nohup.out: the lab's commands have no
// terminal.
func runNohup(c *Call) int {
	args := c.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintf(c.Stderr, "nohup: missing operand\nTry 'nohup --help' for more information.\n")
		return 125
	}
	done := make(chan int, 1)
	detach(c, args, done)
	select {
	case code := <-done:
		return code
	case <-c.Ctx.Done():
		return 129 // hung up; the program carries on
	}
}
