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

// FindRun returns the directory of run id, or an error saying it is unknown.
func FindRun(stateDir, id string) (string, error) {
	if !ValidRunID(id) {
		return "", fmt.Errorf("%q is not a run id (they look like 20261127-101500-crio-upgrade-3f2a; `runbook runs` lists them)", id)
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
