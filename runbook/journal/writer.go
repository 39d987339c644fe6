package journal

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// Writer appends records to a journal file. Append returns only once the
// record is on disk (written and fsynced). Records appended at the same
// moment by several goroutines share one fsync (group commit). After a write
// or sync error every later Append fails with that error, so the engine stops
// before its next action.
type Writer struct {
	path string
	f    *os.File

	mu      sync.Mutex
	cond    *sync.Cond
	seq     int64  // last sequence number handed out
	synced  int64  // last sequence number known to be on disk
	buf     []byte // encoded records not yet written
	spare   []byte // a written buffer kept for the next group (see syncTo)
	syncing bool   // a goroutine is writing and syncing
	err     error  // sticky
	now     func() time.Time
}

// Create creates a new journal file at path (mode 0600); it fails if the
// file exists.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	if err := syncDir(path); err != nil {
		f.Close()
		return nil, err
	}
	return newWriter(path, f, 0), nil
}

// OpenAppend reopens an existing journal to continue it, as resume does. A
// torn last line (a write cut off by a crash) is cut away first, so that the
// file stays valid JSON lines; the records before it are kept.
func OpenAppend(path string) (*Writer, *Log, error) {
	log, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if log.TornBytes > 0 {
		if err := os.Truncate(path, log.ValidSize); err != nil {
			return nil, nil, fmt.Errorf("cut torn journal tail: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("sync journal: %w", err)
	}
	return newWriter(path, f, log.LastSeq()), log, nil
}

func newWriter(path string, f *os.File, seq int64) *Writer {
	w := &Writer{path: path, f: f, seq: seq, synced: seq, now: time.Now}
	w.cond = sync.NewCond(&w.mu)
	return w
}

// Path is the journal file's path.
func (w *Writer) Path() string { return w.path }

// Append sets r's Seq and Time, writes it and fsyncs it, together with
// the records buffered before it. It returns r as written.
func (w *Writer) Append(r Record) (Record, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, err := w.add(r)
	if err != nil {
		return r, err
	}
	w.syncTo(r.Seq)
	return r, w.err
}

// AppendLazy sets r's Seq and Time and buffers it without waiting for the
// disk: the next Append (or Close) writes and fsyncs it, in order, in the
// same group commit as its own record, and only then returns. It is for a
// record on which no action depends until the engine appends its next
// record — a finished step, whose next step starts with a step_started
// that must be on disk anyway — so that such a pair costs one fsync
// instead of two. A crash before that loses r exactly as a crash during
// Append's fsync would.
func (w *Writer) AppendLazy(r Record) (Record, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.add(r)
}

// add numbers, stamps and encodes r into the buffer. Call with mu held.
func (w *Writer) add(r Record) (Record, error) {
	if w.err != nil {
		return r, w.err
	}
	w.seq++
	r.Seq = w.seq
	r.Time = w.now().UTC()
	n := len(w.buf)
	buf, err := appendRecord(w.buf, &r)
	if err != nil {
		w.seq--
		w.buf = buf[:n]
		return r, fmt.Errorf("encode journal record: %w", err)
	}
	w.buf = append(buf, '\n')
	return r, nil
}

// maxSpare is the largest buffer a Writer keeps for reuse: a group with
// large outputs in it should not hold its memory for the rest of the run.
const maxSpare = 256 << 10

// syncTo returns once every record up to seq mine is on disk, or the
// writer has failed: it waits for the goroutine writing and syncing, or
// becomes that goroutine. Call with mu held.
func (w *Writer) syncTo(mine int64) {
	for w.synced < mine && w.err == nil {
		if w.syncing {
			w.cond.Wait()
			continue
		}
		// Become the leader: write everything buffered so far in one go.
		w.syncing = true
		buf, upto := w.buf, w.seq
		w.buf, w.spare = w.spare[:0], nil
		w.mu.Unlock()
		var err error
		if len(buf) > 0 { // else WriteOut wrote them
			_, err = w.f.Write(buf)
		}
		if err == nil {
			err = w.f.Sync()
		}
		w.mu.Lock()
		if cap(buf) <= maxSpare {
			w.spare = buf[:0] // the records of the next group go into it
		}
		w.syncing = false
		if err != nil {
			w.err = fmt.Errorf("journal: %w", err) // err names the file
		} else {
			w.synced = upto
		}
		w.cond.Broadcast()
	}
}

// Flush returns once every record appended so far, AppendLazy's included,
// is on disk, or the writer has failed; it returns the sticky error. With
// nothing buffered it costs no write.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.syncTo(w.seq)
	return w.err
}

// WriteOut writes the records buffered so far to the file, without
// syncing them, and returns the sticky error: a cheap proof that the
// journal can still be written (a full disk or a file size limit fails
// the write at once), for an action no buffered record must precede on
// disk but which a journal that cannot record it must not start (taking
// a new host's lock). The next sync takes them to disk.
func (w *Writer) WriteOut() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.syncing && w.err == nil {
		w.cond.Wait()
	}
	if w.err != nil || len(w.buf) == 0 {
		return w.err
	}
	w.syncing = true
	buf := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.mu.Unlock()
	_, err := w.f.Write(buf)
	w.mu.Lock()
	if cap(buf) <= maxSpare && w.spare == nil {
		w.spare = buf[:0]
	}
	w.syncing = false
	if err != nil {
		w.err = fmt.Errorf("journal: %w", err)
	}
	w.cond.Broadcast()
	return w.err
}

// FlushAlong returns once every record up to seq is on disk (with those
// appended before it, of any goroutine), or the writer has failed; it
// returns the sticky error, and writes nothing when they are on disk
// already. The engine asks it for one host's records before acting on that
// host, where Flush would also sync every other host's lazy records, which
// their own next steps sync anyway. For up to grace it waits for another
// goroutine's sync (an Append's) to take them to disk, and syncs them
// itself only if none does; with no grace it syncs them at once.
func (w *Writer) FlushAlong(seq int64, grace time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	seq = min(seq, w.seq)
	if w.synced < seq && w.err == nil && grace > 0 {
		expired := false
		t := time.AfterFunc(grace, func() {
			w.mu.Lock()
			expired = true
			w.cond.Broadcast()
			w.mu.Unlock()
		})
		for w.synced < seq && w.err == nil && !expired {
			w.cond.Wait()
		}
		t.Stop()
	}
	w.syncTo(seq)
	return w.err
}

// Synced is the sequence number up to which every record is on disk.
func (w *Writer) Synced() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.synced
}

// Err reports the sticky error, if a write failed.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close writes and syncs what AppendLazy buffered, then closes the file.
// Appends after Close fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	prior := w.err
	w.syncTo(w.seq)
	var flushErr error
	if prior == nil {
		flushErr = w.err
	}
	if w.err == nil {
		w.err = fmt.Errorf("journal %s: closed", w.path)
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	return flushErr
}

// syncDir fsyncs the directory holding path, so a new file's entry survives a
// crash.
func syncDir(path string) error {
	d, err := os.Open(dirOf(path))
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dirOf(path), err)
	}
	return nil
}
