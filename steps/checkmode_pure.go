package steps

import "context"

// The kinds that act on nothing but the run's own names (log, fail,
// assert, set) predict by running: what they do in a run is what they
// would do, and they change nothing on any host. A dry run thus still
// checks a runbook's asserts and carries its set: names.

// Predict implements Predictor.
func (l *Log) Predict(ctx context.Context, x *Exec) Result { return l.Run(ctx, x) }

// Predict implements Predictor.
func (f *FailStep) Predict(ctx context.Context, x *Exec) Result { return f.Run(ctx, x) }

// Predict implements Predictor.
func (a *Assert) Predict(ctx context.Context, x *Exec) Result { return a.Run(ctx, x) }

// Predict implements Predictor.
func (s *Set) Predict(ctx context.Context, x *Exec) Result { return s.Run(ctx, x) }
