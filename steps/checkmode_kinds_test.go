package steps

import (
	"context"
	"slices"
	"testing"

	"github.com/runbookhq/runbook/runbook"
)

// Which kinds a dry run predicts: those that act on nothing but the run's
// names predict by running, the file and API kinds read and stop; kinds
// that act on a host in ways they cannot foresee (a shell command, a
// reboot, a backup) do not, and a dry run skips them. Of those that
// predict, only the kinds that act on names read nothing on a host.
func TestWhichKindsPredict(t *testing.T) {
	predicting := []string{"apt", "apt_repository", "assert", "copy", "fail", "file", "ini", "kube_node", "lineinfile", "log",
		"notify_webhook", "set", "stat", "systemd", "template", "toml", "uri"}
	fromNames := []string{"assert", "fail", "log", "set"}
	for _, name := range runbook.KindNames() {
		k, ok := runbook.NewSpec(name).(Kind)
		if !ok {
			t.Fatalf("%s is not a Kind", name)
		}
		if got, want := CanPredict(k), slices.Contains(predicting, name); got != want {
			t.Errorf("CanPredict(%s) = %v, want %v", name, got, want)
		}
		if got, want := PredictsFromNames(k), slices.Contains(fromNames, name); got != want {
			t.Errorf("PredictsFromNames(%s) = %v, want %v", name, got, want)
		}
	}
}

// The kinds that act on names predict exactly what they do: an assert that
// fails fails, a set defines its names, a log logs.
func TestPureKindsPredictByRunning(t *testing.T) {
	var logged []string
	x := &Exec{
		Eval:   func(src string) (any, error) { return src == "true", nil },
		Render: func(s string) (string, error) { return s, nil },
		Logf:   func(format string, args ...any) { logged = append(logged, format) },
	}
	ctx := context.Background()
	if r := (&Assert{That: Exprs{"false"}}).Predict(ctx, x); r.Status != Failed {
		t.Errorf("a false assert predicts %s, want failed", r.Status)
	}
	if r := (&Assert{That: Exprs{"true"}}).Predict(ctx, x); r.Status != OK {
		t.Errorf("a true assert predicts %s, want ok", r.Status)
	}
	if r := (&FailStep{Msg: "boom"}).Predict(ctx, x); r.Status != Failed {
		t.Errorf("fail predicts %s, want failed", r.Status)
	}
	if r := (&Log{Msg: "hello"}).Predict(ctx, x); r.Status == Failed || len(logged) != 1 {
		t.Errorf("log predicts %s and logged %q", r.Status, logged)
	}
}
