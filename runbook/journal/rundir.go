package journal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// JournalFile is the name of the journal inside a run directory.
const JournalFile = "journal.jsonl"

// StateDir resolves the state directory: flag, else $RUNBOOK_STATE_DIR, else
// $XDG_STATE_HOME/runbook, else ~/.local/state/runbook.
func StateDir(flag string) (string, error) {
	if flag != "" {
		return filepath.Abs(flag)
	}
	if d := os.Getenv("RUNBOOK_STATE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	return DefaultStateDir()
}

// DefaultStateDir is the state directory when neither --state-dir nor
// $RUNBOOK_STATE_DIR says otherwise: $XDG_STATE_HOME/runbook, else
// ~/.local/state/runbook.
func DefaultStateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "runbook"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("state dir: %w (set --state-dir or RUNBOOK_STATE_DIR)", err)
	}
	return filepath.Join(home, ".local", "state", "runbook"), nil
}

// NewRunID makes a run id YYYYMMDD-HHMMSS-NAME-XXXX.
func NewRunID(runbook string, t time.Time) string {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%s", t.UTC().Format("20060102-150405"), runbook, hex.EncodeToString(b[:]))
}

var runIDPattern = regexp.MustCompile(`^\d{8}-\d{6}-[a-z0-9-]+-[0-9a-f]{4}$`)

// ValidRunID reports whether id has the shape NewRunID gives, so that a user
// supplied id cannot walk out of the runs directory.
func ValidRunID(id string) bool { return runIDPattern.MatchString(id) }

// RunDir is the directory of run id under stateDir.
func RunDir(stateDir, id string) string { return filepath.Join(stateDir, "runs", id) }

// CreateRunDir creates the private directory of a new run (0700, parents
// included) and returns its path.
func CreateRunDir(stateDir, id string) (string, error) {
	if !ValidRunID(id) {
		return "", fmt.Errorf("bad run id %q", id)
	}
	runs := filepath.Join(stateDir, "runs")
	if err := os.MkdirAll(runs, 0o700); err != nil {
		return "", fmt.Errorf("create state dir: %w", err)
	}
	dir := filepath.Join(runs, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("create run dir: %w", err)
	}
	return dir, syncDir(dir)
}

// LastRun is the run id argument that names the run started last.
const LastRun = "last"

// FindRun returns the directory of the run that arg names: its id, a prefix
// of the id that no other run shares, or LastRun. Else it says why not.
func FindRun(stateDir, arg string) (string, error) {
	id, err := ResolveRunID(stateDir, arg)
	if err != nil {
		return "", err
	}
	dir := RunDir(stateDir, id)
	if _, err := os.Stat(filepath.Join(dir, JournalFile)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no run %s in %s (`runbook runs` lists them)", id, stateDir)
		}
		return "", err
	}
	return dir, nil
}

// ResolveRunID returns the id of the run that arg names: its id, a prefix
// of the id that no other run shares, or LastRun (the run started last; of
// runs started in the same second, the one whose journal was written last).
func ResolveRunID(stateDir, arg string) (string, error) {
	if ValidRunID(arg) {
		return arg, nil
	}
	if arg == "" || strings.ContainsAny(arg, `/\`) {
		return "", fmt.Errorf("%q is not a run id (they look like 20261127-101500-crio-upgrade-3f2a; a unique prefix or %q will do; `runbook runs` lists them)", arg, LastRun)
	}
	ids, err := ListRuns(stateDir)
	if err != nil {
		return "", err
	}
	if arg == LastRun {
		if len(ids) == 0 {
			return "", fmt.Errorf("no run in %s yet", stateDir)
		}
		return lastRun(stateDir, ids), nil
	}
	var match []string
	for _, id := range ids {
		if strings.HasPrefix(id, arg) {
			match = append(match, id)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) == 0:
		return "", fmt.Errorf("no run id in %s starts with %q (`runbook runs` lists them)", stateDir, arg)
	case len(match) > 5:
		return "", fmt.Errorf("%d runs start with %q (%s, …): give more of the id", len(match), arg, strings.Join(match[len(match)-3:], ", "))
	default:
		return "", fmt.Errorf("%d runs start with %q (%s): give more of the id", len(match), arg, strings.Join(match, ", "))
	}
}

// lastRun picks the run started last from ids, sorted: ids begin with their
// start time to the second; within a second, the journal written last wins.
func lastRun(stateDir string, ids []string) string {
	last := ids[len(ids)-1]
	second := last[:len("20060102-150405")]
	var lastMod time.Time
	for i := len(ids) - 1; i >= 0 && strings.HasPrefix(ids[i], second); i-- {
		fi, err := os.Stat(filepath.Join(RunDir(stateDir, ids[i]), JournalFile))
		if err == nil && fi.ModTime().After(lastMod) {
			last, lastMod = ids[i], fi.ModTime()
		}
	}
	return last
}

// ListRuns returns the run ids under stateDir, oldest first.
func ListRuns(stateDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(stateDir, "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && ValidRunID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// WriteFileSync writes data to path (mode 0600) through a temporary file and a
// rename, fsyncing both, so the file is either whole or absent.
func WriteFileSync(path string, data []byte) error {
	return WriteFileSyncFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileSyncFunc is WriteFileSync of what write writes: a large report
// goes to the file as it is made, rather than whole into memory first.
// write gets the temporary file itself, unbuffered; a writer of many small
// pieces buffers them (WriteHTML and WriteJUnit do).
func WriteFileSyncFunc(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(path)
}
