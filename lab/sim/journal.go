package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// journalEntry is one line of a node's journal.
type journalEntry struct {
	T     time.Time `json:"t"`
	Boot  string    `json:"boot"`
	Unit  string    `json:"unit,omitempty"` // e.g. crio.service
	Ident string    `json:"ident"`          // syslog identifier: crio, kubelet, systemd
	PID   int       `json:"pid"`
	Prio  int       `json:"prio"` // 3 error, 4 warning, 6 info
	Msg   string    `json:"msg"`
}

// Journal priorities.
const (
	prioErr     = 3
	prioWarning = 4
	prioInfo    = 6
)

func (w *World) journalPath(name string) string {
	return filepath.Join(w.nodeDir(name), "journal.jsonl")
}

// log records a journal line for the node, written at commit.
func (tx *txn) log(n *nodeState, unit, ident string, pid, prio int, msg string) {
	tx.journal[n.Name] = append(tx.journal[n.Name], journalEntry{
		T: tx.now, Boot: n.BootID, Unit: unit, Ident: ident, PID: pid, Prio: prio, Msg: msg,
	})
	// entries of one transaction share tx.now; keep them ordered and distinct
	tx.now = tx.now.Add(time.Microsecond)
}

// systemdLog records a line of systemd (PID 1) about a unit.
func (tx *txn) systemdLog(n *nodeState, unit string, prio int, msg string) {
	tx.log(n, unit, "systemd", 1, prio, msg)
}

// crioLog records a line of the crio daemon, in its logrus format.
func (tx *txn) crioLog(n *nodeState, level, msg string) {
	prio := prioInfo
	switch level {
	case "error", "fatal":
		prio = prioErr
	case "warning":
		prio = prioWarning
	}
	pid := n.unit("crio").PID
	tx.log(n, "crio.service", "crio", pid, prio, fmt.Sprintf("time=%q level=%s msg=%q",
		tx.now.UTC().Format("2006-01-02 15:04:05.000000000Z07:00"), level, msg))
}

// kubeletLog records a line of kubelet, in its klog format.
func (tx *txn) kubeletLog(n *nodeState, prio int, msg string) {
	sev := "I"
	if prio <= prioErr {
		sev = "E"
	} else if prio == prioWarning {
		sev = "W"
	}
	pid := n.unit("kubelet").PID
	tx.log(n, "kubelet.service", "kubelet", pid, prio, fmt.Sprintf("%s%s %7d kubelet.go:1] %s",
		sev, tx.now.UTC().Format("0102 15:04:05.000000"), pid, msg))
}

// appendJournal appends entries to the journal file.
func appendJournal(path string, entries []journalEntry) error {
	if len(entries) == 0 {
		return nil
	}
	var buf []byte
	for _, e := range entries {
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(buf)
	return errors.Join(werr, f.Close())
}

// readJournal returns the node's journal, including the lines of the
// running transaction not written yet.
func (tx *txn) readJournal(name string) ([]journalEntry, error) {
	var out []journalEntry
	f, err := os.Open(tx.w.journalPath(name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			var e journalEntry
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				out = append(out, e)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return append(out, tx.journal[name]...), nil
}
