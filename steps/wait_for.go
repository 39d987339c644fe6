package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[WaitFor]("wait_for") }

// WaitFor polls until a command succeeds or a TCP port accepts
// connections, seen from the host: `wait_for: {command or port, host,
// timeout, interval}`.
//
// The port test runs on the host: `nc -z` when nc is installed (Ubuntu
// 22.04 ships netcat-openbsd), else bash's /dev/tcp (Debian and Ubuntu
// build bash with it), under `timeout` when coreutils has it. A host with
// neither nc nor bash fails the step at once rather than wait in vain. Only
// the last attempt's output is kept. It reports ok.
type WaitFor struct {
	Command  string           `yaml:"command" shell:"true" desc:"Shell command that must exit 0."`
	Port     string           `yaml:"port" desc:"TCP port that must accept a connection."`
	Host     string           `yaml:"host" desc:"Address to connect to, from the host (default 127.0.0.1)."`
	Timeout  runbook.Duration `yaml:"timeout" desc:"How long to keep trying (default 5m)."`
	Interval runbook.Duration `yaml:"interval" desc:"Wait between attempts (default 2s)."`
}

// exitNoProbe is the exit status of the port test when the host has no
// tool to test a port with.
const exitNoProbe = 125

// Validate implements runbook.StepSpec.
func (w *WaitFor) Validate(c *runbook.Check) {
	if (w.Command == "") == (w.Port == "") {
		c.Errorf("", "wait_for: give either command: or port:")
	}
	if w.Port != "" && !runbook.HasTemplate(w.Port) {
		if _, err := parsePort(w.Port); err != nil {
			c.Errorf("port", "wait_for: %v", err)
		}
	}
	if w.Host != "" && w.Port == "" {
		c.Errorf("host", "wait_for: host: goes with port:")
	}
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q: use a number from 1 to 65535", s)
	}
	return p, nil
}

func (w *WaitFor) host() string {
	if w.Host == "" {
		return "127.0.0.1"
	}
	return w.Host
}

// Describe implements Kind.
func (w *WaitFor) Describe() string {
	what := "command " + w.Command
	if w.Port != "" {
		what = "port " + w.host() + ":" + w.Port
	}
	return "wait_for: " + what + " (timeout " + w.timeout().String() + ")"
}

func (w *WaitFor) timeout() time.Duration {
	if w.Timeout > 0 {
		return w.Timeout.D()
	}
	return 5 * time.Minute
}

func (w *WaitFor) interval() time.Duration {
	if w.Interval > 0 {
		return w.Interval.D()
	}
	return 2 * time.Second
}

// portScript tests one TCP connection from the host.
func portScript(host string, port int) string {
	return `h=` + quote(host) + ` p=` + strconv.Itoa(port) + `
if command -v nc >/dev/null 2>&1; then exec nc -z -w 3 "$h" "$p"; fi
if command -v bash >/dev/null 2>&1; then
  t=; command -v timeout >/dev/null 2>&1 && t='timeout 5'
  exec $t bash -c 'exec 3<>"/dev/tcp/$1/$2"' bash "$h" "$p"
fi
echo 'wait_for: the host has neither nc nor bash to test a TCP port with' >&2
exit ` + strconv.Itoa(exitNoProbe)
}

// Run implements Kind.
func (w *WaitFor) Run(ctx context.Context, x *Exec) Result {
	cmd, runner := transport.Command{Shell: w.Command}, x
	what := "command"
	if w.Port != "" {
		port, err := parsePort(w.Port)
		if err != nil {
			return Fail("", "wait_for: %v", err)
		}
		cmd, runner = transport.Command{Shell: portScript(w.host(), port)}, x.asLogin()
		what = "port " + w.host() + ":" + w.Port
	}
	start := time.Now()
	deadline := waitUntil(ctx, w.timeout())
	for attempts := 1; ; attempts++ {
		c := cmd
		c.Timeout = max(time.Until(deadline), time.Second)
		out, errOut, rc, err := runner.Output(ctx, c)
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			// This attempt outlived the time left: a failed attempt.
			rc, errOut, err = -1, "the attempt timed out", nil
		}
		r := Result{Status: Failed, RC: &rc, Command: cmd.Shell,
			Data: map[string]any{"attempts": attempts, "waited_ms": time.Since(start).Milliseconds()}}
		switch {
		case err != nil:
			r.RC, r.Err = nil, fmt.Errorf("wait_for %s: %w", what, err)
			return r
		case rc == 0:
			r.Status = OK
		case w.Port != "" && rc == exitNoProbe:
			r.Err = fmt.Errorf("wait_for %s: the host has neither nc nor bash to test a TCP port with", what)
		case time.Until(deadline) < w.interval():
			r.Err = fmt.Errorf("wait_for %s: still failing (exit %d%s) after %d attempts in %s", what, rc, stderrTail(errOut), attempts, roundWait(deadline.Sub(start)))
		case !sleepCtx(ctx, w.interval()):
			r.Err = fmt.Errorf("wait_for %s: still failing (exit %d) after %d attempts in %s: %w", what, rc, attempts, time.Since(start).Round(time.Second), ctx.Err())
		default:
			continue
		}
		writeOut(x, out, errOut)
		return r
	}
}

// writeOut gives the step's streams what a helper command printed.
func writeOut(x *Exec, stdout, stderr string) {
	for _, s := range []struct {
		w io.Writer
		t string
	}{{x.Stdout, stdout}, {x.Stderr, stderr}} {
		if s.w != nil && s.t != "" {
			io.WriteString(s.w, s.t)
		}
	}
}
