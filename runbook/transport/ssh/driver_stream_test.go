package ssh

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// streamCase feeds a stream two queued requests: out and the first
// request's marker (with the status word 42 on a status stream), then the
// second request's output "next", cut into writes of cut(i, left) bytes.
// It checks that the first writer got exactly out, the first request its
// one marker (and status), and the second writer "next" with nothing
// found for it.
func streamCase(t *testing.T, out []byte, status bool, cut func(i, left int) int) {
	t.Helper()
	const nonce = "rbd-0123456789abcdef01234567"
	var st driverStream
	st.status = status
	var got, next bytes.Buffer
	r, r2 := newDriverReq(), newDriverReq()
	st.expect(nonce, &got, r)
	st.expect("rbd-ffffffffffffffffffffffff", &next, r2)
	wire := append(append([]byte(nil), out...), "\x1e"+nonce...)
	if status {
		wire = append(wire, " 42\n"...)
	} else {
		wire = append(wire, '\n')
	}
	wire = append(wire, "next"...)
	for i := 0; len(wire) > 0; i++ {
		n := min(len(wire), max(1, cut(i, len(wire))))
		if _, err := st.Write(wire[:n]); err != nil {
			t.Fatal(err)
		}
		wire = wire[n:]
	}
	want := map[bool]string{true: "42", false: ""}[status]
	if r.left.Load() != 1 || r2.left.Load() != 2 || r.status != want {
		t.Fatalf("status %v: markers left %d and %d, want 1 and 2; status word %q, want %q", status, r.left.Load(), r2.left.Load(), r.status, want)
	}
	if !bytes.Equal(got.Bytes(), out) || next.String() != "next" {
		t.Fatalf("status %v: passed on %q, want %q; the next request got %q", status, got.Bytes(), out, next.String())
	}
}

// The driver's output streams pass a command's output on exactly as it was
// written, however the session cuts it into writes, with the marker, and
// only the marker, taken out; bytes that merely look like the beginning of
// a marker are passed on too.
func TestDriverStreamSplits(t *testing.T) {
	outputs := [][]byte{
		nil,
		[]byte("hello\n"),
		[]byte("no newline"),
		[]byte("\x1e"),
		[]byte("\x1erbd-"),
		[]byte("\x1erbd-0123456789abcdef0123456"),      // the marker less its last digit
		[]byte("\x1erbd-ffffffffffffffffffffffff 0\n"), // another command's marker
		bytes.Repeat([]byte("\x1e\x1erb"), 100),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, rng.IntN(3000))
		for i := range b {
			const alphabet = "ab\n\x1erd-0"
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		outputs = append(outputs, b)
	}
	for _, out := range outputs {
		for _, status := range []bool{true, false} {
			streamCase(t, out, status, func(_, left int) int { return 1 + rng.IntN(min(left, 64)) })
		}
	}
}

// Output is held back only while it could be the beginning of the marker.
func TestDriverStreamHoldsBackOnlyAMarkerPrefix(t *testing.T) {
	marker := []byte("\x1erbd-abc")
	for _, c := range []struct {
		in   string
		held int
	}{
		{"line\n", 0},
		{"", 0},
		{"x\x1e", 1},
		{"x\x1erbd-a", 6},
		{"x\x1erbd-x", 0},
		{"\x1e\x1erbd", 4},
	} {
		if got := len(c.in) - heldFrom([]byte(c.in), marker); got != c.held {
			t.Errorf("%q: %d bytes held back, want %d", c.in, got, c.held)
		}
	}
}

// FuzzDriverStream: whatever a command writes (short of the marker
// itself, which it cannot know), and however the session cuts it into
// writes, the command's writer gets exactly what it wrote, the marker is
// found once, and the next request's output goes to the next writer.
func FuzzDriverStream(f *testing.F) {
	f.Add([]byte("hello\n"), []byte{3, 1, 4, 1, 5})
	f.Add([]byte("\x1erbd-0123"), []byte{1})
	f.Add([]byte("\x1e\x1e\x1erbd-"), []byte{2, 7})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, out, cuts []byte) {
		if bytes.Contains(out, []byte("\x1erbd-0123456789abcdef01234567")) {
			t.Skip("the output holds the marker")
		}
		for _, status := range []bool{true, false} {
			streamCase(t, out, status, func(i, left int) int {
				if i < len(cuts) {
					return 1 + int(cuts[i])
				}
				return left
			})
		}
	})
}
