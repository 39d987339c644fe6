package ctxio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// endless is an input that never ends, as /dev/zero.
type endless struct {
	cancel func()
	reads  int
}

func (e *endless) Read(p []byte) (int, error) {
	if e.reads++; e.reads == 3 {
		e.cancel()
	}
	return len(p), nil
}

func TestCopyStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &endless{cancel: cancel}
	n, err := io.Copy(io.Discard, Reader(ctx, src))
	if !errors.Is(err, context.Canceled) || src.reads != 3 || n == 0 {
		t.Errorf("copied %d bytes in %d reads, error %v; want 3 reads, then context.Canceled", n, src.reads, err)
	}

	var out bytes.Buffer
	w := Writer(ctx, &out)
	if _, err := w.Write([]byte("late")); !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Errorf("write after cancel: %v, %q written", err, out.String())
	}
	if _, err := Writer(context.Background(), &out).Write([]byte("ok")); err != nil || out.String() != "ok" {
		t.Errorf("write: %v, %q", err, out.String())
	}
	bg := context.Background()
	r := Reader(bg, bytes.NewReader([]byte("all")))
	if Reader(bg, r) != r {
		t.Error("a reader of the same context is wrapped again")
	}
	if Underlying(r) == r || Underlying(Underlying(r)) != Underlying(r) {
		t.Error("Underlying does not return the reader under Reader's")
	}
	if b, err := io.ReadAll(r); err != nil || string(b) != "all" {
		t.Errorf("read: %v, %q", err, b)
	}
}
