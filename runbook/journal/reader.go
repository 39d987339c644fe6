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
	br := bufio.NewReaderSize(r, 64<<10)
	lineNo := 0
	var offset int64
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return log, nil
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf(" %w", err)
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
				log.TornBytes = int64(len(line))
				return log, nil
			}
			return nil, fmt.Errorf("%d:1: bad journal record: %v", lineNo, decErr)
		}
		if want := log.LastSeq() + 1; rec.Seq != want {
			return nil, fmt.Errorf("%d:1: journal record has seq %d, want %d", lineNo, rec.Seq, want)
		}
		offset += int64(len(line))
		log.ValidSize = offset
		log.Records = append(log.Records, rec)
	}
}

func dirOf(path string) string { return filepath.Dir(path) }
