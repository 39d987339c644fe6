package engine

// durable makes sure that every record appended so far, those AppendLazy
// buffered included, is on disk before the engine acts on a host without
// journaling first: taking a lock (its lock_acquired can only follow) and
// releasing one. A journal that cannot be written stops the run here,
// before the action (SPEC §9: each record is written and fsynced before the
// next action).
func (e *Engine) durable() error {
	if err := e.j.Flush(); err != nil {
		e.abort(&JournalError{Err: err})
		return err
	}
	e.observe(e.j.Synced(), nil)
	return nil
}
