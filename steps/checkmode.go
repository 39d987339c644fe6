package steps

// Check mode and diffs (`run --check`, `run --diff`).
//
// A kind that can say what it would do without doing it implements
// Predictor. Predict runs the same code as Run up to the first change and
// stops there: it reads the host (a file's checksum and content, a node's
// state, a package's version) and reports
//
//   - Changed when Run would change something: the engine shows "would
//     change" and journals the step as a dry run;
//   - OK when Run would change nothing;
//   - Failed when Run would fail on what it read (a file that does not
//     parse, a directory where a file should be), with the same error;
//   - Skipped only when the kind has nothing to predict from.
//
// Its Data is what Run would record, and for the file kinds Diff holds the
// change as a unified diff. Predict never changes the host: no file is
// written (not even a temporary one), no service touched, no request that
// could change anything sent; it may run read-only commands, which is why
// it needs the transport like Run.
//
// How the engine wires it (runbook/engine/checkmode.go):
//
//   - run --check: for each step, if CanPredict(kind) call Predict instead
//     of Run; otherwise skip the step with "cannot predict", and mark what
//     depends on its registered output as unknown. Take no lock.
//   - run --diff (with or without --check): set Exec.Diff; a kind that
//     edits files then fills Result.Diff, in Run as in Predict. Redact it
//     like stdout; for a no_log step show only that the file differs.
//     A step whose text carries a secret (Exec.Sensitive) already gets a
//     diff that says only that the content differs.
//
// Predicting kinds: copy, template, file, lineinfile, ini, toml, stat,
// uri, kube_node, notify_webhook, apt, apt_repository, systemd; and log,
// fail, assert and set, which act on nothing but the run's names
// (checkmode_pure.go). Kinds that edit files and fill Diff: copy,
// template, file (its attributes), lineinfile, ini, toml, apt_repository.

import "context"

// Predictor is a Kind that can run in check mode (see above).
type Predictor interface {
	Kind
	// Predict reports what Run would do on x.Host without changing it.
	Predict(ctx context.Context, x *Exec) Result
}

// CanPredict reports whether k can run in check mode.
func CanPredict(k Kind) bool {
	_, ok := k.(Predictor)
	return ok
}
