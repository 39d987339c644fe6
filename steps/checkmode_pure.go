package steps

import "context"

// The kinds that act on nothing but the run's own names (log, fail,
// assert, set) predict by running: what they do in a run is what they
// would do, and they change nothing on any host. A dry run thus still
// checks a runbook's asserts and carries its set: names.

// namesOnly marks the kinds whose prediction reads nothing on a host.
type namesOnly interface{ predictsFromNames() }

// PredictsFromNames reports whether k's prediction reads only the run's
// names, never a host: a change a dry run withheld on the host before it
// cannot make it wrong.
func PredictsFromNames(k Kind) bool {
	_, ok := k.(namesOnly)
	return ok
}

// Predict implements Predictor.
func (l *Log) Predict(ctx context.Context, x *Exec) Result { return l.Run(ctx, x) }

// Predict implements Predictor.
func (f *FailStep) Predict(ctx context.Context, x *Exec) Result { return f.Run(ctx, x) }

// Predict implements Predictor.
func (a *Assert) Predict(ctx context.Context, x *Exec) Result { return a.Run(ctx, x) }

// Predict implements Predictor.
func (s *Set) Predict(ctx context.Context, x *Exec) Result { return s.Run(ctx, x) }

func (*Log) predictsFromNames()      {}
func (*FailStep) predictsFromNames() {}
func (*Assert) predictsFromNames()   {}
func (*Set) predictsFromNames()      {}
