package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Log is a journal read back.
type Log struct {
	Path    string
	Records []Record
	// ValidSize is the length of the file up to and including the last
	// complete record.
	ValidSize int64
	// TornBytes is the length of an incomplete last line (a write a crash
	// cut off), zero when the file ends cleanly. Such a line is not a record.
	TornBytes int64
}

// LastSeq is the sequence number of the last record, 0 when there are none.
func (l *Log) LastSeq() int64 {
	if len(l.Records) == 0 {
		return 0
	}
	return l.Records[len(l.Records)-1].Seq
}

// ReadFile reads the journal at path.
func ReadFile(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	log, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	log.Path = path
	return log, nil
}

// Read reads journal records from r. A last line without its newline, or one
// that is not valid JSON, is a torn write and is reported in TornBytes; any
// other bad line is an error naming its line number.
func Read(r io.Reader) (*Log, error) {
	log := &Log{}
	valid, torn, err := scan(r, func(rec Record) error {
		log.Records = append(log.Records, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	log.ValidSize, log.TornBytes = valid, torn
	return log, nil
}

// ReadEach reads the journal at path as ReadFile does, but hands fn one
// record at a time, in order, and keeps none: what is made of a large
// run's journal (its reports) then needs memory for what it makes, not for
// every record. A torn last line ends the journal; fn's error stops the
// reading and is returned.
func ReadEach(path string, fn func(Record) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	var fnErr error
	_, _, err = scan(f, func(r Record) error {
		fnErr = fn(r)
		return fnErr
	})
	if err != nil && err != fnErr {
		return fmt.Errorf("%s:%w", path, err)
	}
	return err
}

// scan decodes the records of r in order, calling fn with each, and
// returns the length up to the last complete record and that of a torn
// last line.
func scan(r io.Reader, fn func(Record) error) (validSize, tornBytes int64, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	lineNo := 0
	var lastSeq int64
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return validSize, 0, nil
		}
		if err != nil && err != io.EOF {
			return 0, 0, fmt.Errorf(" %w", err)
		}
		lineNo++
		complete := err == nil
		var rec Record
		body := bytes.TrimRight(line, "\n")
		decErr := json.Unmarshal(body, &rec)
		if decErr == nil && rec.Type == "" {
			decErr = fmt.Errorf("record has no type")
		}
		if !complete || decErr != nil {
			// Only the last line may be torn.
			if _, peekErr := br.Peek(1); peekErr == io.EOF {
				return validSize, int64(len(line)), nil
			}
			return 0, 0, fmt.Errorf("%d:1: bad journal record: %v", lineNo, decErr)
		}
		if want := lastSeq + 1; rec.Seq != want {
			return 0, 0, fmt.Errorf("%d:1: journal record has seq %d, want %d", lineNo, rec.Seq, want)
		}
		lastSeq = rec.Seq
		validSize += int64(len(line))
		if err := fn(rec); err != nil {
			return 0, 0, err
		}
	}
}

func dirOf(path string) string { return filepath.Dir(path) }
