package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Reboot]("reboot") }

// Reboot reboots the host and waits until it is back with a new boot id:
// `reboot: {timeout, wait}` (or just `reboot: {}`). The reboot is started
// in the background, detached from the session, a couple of seconds
// later, so that the command returns cleanly; a connection that drops
// anyway counts as the reboot starting. Then it reads
// /proc/sys/kernel/random/boot_id every few seconds (the transport redials
// before each command; failures while the host is down are expected) until
// the id differs from the one before, within timeout. wait: pauses after
// the host is back, for its services to settle. It reports changed.
type Reboot struct {
	Timeout runbook.Duration `yaml:"timeout" desc:"How long the host may take to come back (default 10m)."`
	Wait    runbook.Duration `yaml:"wait" desc:"Pause after the host is back, before the next step."`
}

// rebootPoll is how often the boot id is read while waiting.
var rebootPoll = 5 * time.Second

const bootIDFile = "/proc/sys/kernel/random/boot_id"

// DecodeYAML implements runbook.YAMLDecoder: `reboot:` with nothing
// after it is the defaults.
func (r *Reboot) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if runbook.IsNull(n) {
		return
	}
	d.DecodeFields(n, r)
}

// Validate implements runbook.StepSpec.
func (r *Reboot) Validate(*runbook.Check) {}

// Describe implements Kind.
func (r *Reboot) Describe() string {
	s := "reboot: and wait up to " + r.timeout().String() + " for a new boot id"
	if r.Wait > 0 {
		s += ", then " + r.Wait.String()
	}
	return s
}

func (r *Reboot) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout.D()
	}
	return 10 * time.Minute
}

// rebootScript starts the reboot two seconds later, detached, and returns.
const rebootScript = `if command -v systemctl >/dev/null 2>&1; then c='systemctl reboot'; else c='reboot'; fi
if command -v setsid >/dev/null 2>&1; then
  setsid -f sh -c "sleep 2; $c" </dev/null >/dev/null 2>&1
else
  nohup sh -c "sleep 2; $c" </dev/null >/dev/null 2>&1 &
fi`

// bootID reads the host's boot id as the login user.
func bootID(ctx context.Context, x *Exec, timeout time.Duration) (string, error) {
	out, errOut, rc, err := x.asLogin().Output(ctx, transport.Command{Argv: []string{"cat", bootIDFile}, Timeout: timeout})
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	if rc != 0 || id == "" {
		return "", fmt.Errorf("reading %s: exit %d%s", bootIDFile, rc, stderrTail(errOut))
	}
	return id, nil
}

// Run implements Kind.
func (r *Reboot) Run(ctx context.Context, x *Exec) Result {
	before, err := bootID(ctx, x, 0)
	if err != nil {
		return Broken("cat "+bootIDFile, fmt.Errorf("reboot: %w", err))
	}
	data := map[string]any{"boot_id_before": before}
	res, err := x.Run(ctx, transport.Command{Shell: rebootScript})
	switch {
	case err != nil && errors.Is(err, transport.ErrUnreachable):
		data["dropped"] = true // the reboot outran the command: expected
	case err != nil:
		return Result{Status: Failed, Command: rebootScript, Data: data, Err: fmt.Errorf("reboot: %w", err)}
	case res.ExitCode != 0:
		rc := res.ExitCode
		return Result{Status: Failed, RC: &rc, Command: rebootScript, Data: data, Err: fmt.Errorf("reboot: starting the reboot: exit %d", rc)}
	}
	start := time.Now()
	deadline := waitUntil(ctx, r.timeout())
	var lastErr error
	for {
		if time.Until(deadline) < rebootPoll || !sleepCtx(ctx, rebootPoll) {
			break
		}
		id, err := bootID(ctx, x, min(30*time.Second, time.Until(deadline)))
		if err != nil {
			if lastErr == nil || ctx.Err() == nil {
				lastErr = err // a poll cut by the step's end saw nothing new
			}
			continue
		}
		lastErr = nil
		if id != before {
			data["boot_id_after"] = id
			data["back_after_ms"] = time.Since(start).Milliseconds()
			if r.Wait > 0 && !sleepCtx(ctx, r.Wait.D()) {
				return Result{Status: Failed, Command: rebootScript, Data: data, Err: fmt.Errorf("reboot: host is back, then: %w", ctx.Err())}
			}
			return Result{Status: Changed, Command: rebootScript, Data: data}
		}
	}
	err = fmt.Errorf("reboot: the boot id is still %s after %s: the host did not reboot", before, time.Since(start).Round(time.Second))
	if lastErr != nil {
		err = fmt.Errorf("reboot: the host is not back after %s: %w", time.Since(start).Round(time.Second), lastErr)
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return Result{Status: Failed, Command: rebootScript, Data: data, Err: err}
}
