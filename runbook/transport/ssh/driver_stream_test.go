package ssh

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The driver's output streams pass a command's output on exactly as it was
// written, however the session cuts it into writes, with the marker, and
// only the marker, taken out; bytes that merely look like the beginning of
// a marker are passed on too.
func TestDriverStreamSplits(t *testing.T) {
	nonce := "rbd-0123456789abcdef01234567"
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
	for i, out := range outputs {
		for _, status := range []bool{true, false} {
			wire := append(append([]byte(nil), out...), "\x1e"+nonce...)
			if status {
				wire = append(wire, " 42\n"...)
			} else {
				wire = append(wire, '\n')
			}
			wire = append(wire, "after the marker: nobody's"...)
			var st driverStream
			st.status = status
			var got bytes.Buffer
			hit := st.expect(nonce, &got)
			for rest := wire; len(rest) > 0; {
				n := 1 + rng.IntN(min(len(rest), 64))
				if _, err := st.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			select {
			case word := <-hit:
				if want := map[bool]string{true: "42", false: ""}[status]; word != want {
					t.Errorf("output %d: status word %q, want %q", i, word, want)
				}
			default:
				t.Fatalf("output %d (status %v): the marker was not found", i, status)
			}
			if !bytes.Equal(got.Bytes(), out) {
				t.Fatalf("output %d (status %v): passed on %q, want %q", i, status, got.Bytes(), out)
			}
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
