package shell

import (
	"math"
	"strconv"
	"strings"
)

// awkValue is an awk cell: a number, a string, or a string from input that
// compares as a number when it looks like one ("strnum").
type awkValue struct {
	kind uint8
	n    float64
	s    string
}

const (
	kUninit uint8 = iota
	kNum
	kStr
	kStrNum
)

func numVal(n float64) awkValue   { return awkValue{kind: kNum, n: n} }
func strVal(s string) awkValue    { return awkValue{kind: kStr, s: s} }
func strNumVal(s string) awkValue { return awkValue{kind: kStrNum, s: s} }

func boolVal(b bool) awkValue {
	if b {
		return numVal(1)
	}
	return numVal(0)
}

// num is the value as a number: a string counts for its leading number.
func (v awkValue) num() float64 {
	switch v.kind {
	case kNum:
		return v.n
	case kStr, kStrNum:
		return strToNum(v.s)
	}
	return 0
}

// strToNum reads the leading number of s as awk does ("3abc" is 3).
func strToNum(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	digits := 0
	for end < len(s) && isDigit(s[end]) {
		end++
		digits++
	}
	if end < len(s) && s[end] == '.' {
		end++
		for end < len(s) && isDigit(s[end]) {
			end++
			digits++
		}
	}
	if digits == 0 {
		return 0
	}
	if end < len(s) && (s[end] == 'e' || s[end] == 'E') {
		j := end + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			end = j
		}
	}
	f, err := strconv.ParseFloat(s[:end], 64)
	if err != nil {
		return 0
	}
	return f
}

// looksNumeric reports whether s is entirely a number (blanks around allowed).
func looksNumeric(s string) bool {
	t := strings.TrimSpace(s)
	if t == "" {
		return false
	}
	low := strings.ToLower(strings.TrimLeft(t, "+-"))
	if low == "inf" || low == "infinity" || low == "nan" || strings.HasPrefix(low, "0x") {
		return false
	}
	_, err := strconv.ParseFloat(t, 64)
	return err == nil
}

// isNumeric says whether v takes part in comparisons as a number.
func (v awkValue) isNumeric() bool {
	switch v.kind {
	case kNum, kUninit:
		return true
	case kStrNum:
		return looksNumeric(v.s)
	}
	return false
}

// bool is the value's truth: non-zero number, non-empty string.
func (v awkValue) bool() bool {
	switch v.kind {
	case kNum:
		return v.n != 0
	case kStr:
		return v.s != ""
	case kStrNum:
		if looksNumeric(v.s) {
			return strToNum(v.s) != 0
		}
		return v.s != ""
	}
	return false
}

// formatNum converts a number to a string with format (CONVFMT or OFMT);
// integers print as integers.
func formatNum(n float64, format string) string {
	if n == math.Trunc(n) && math.Abs(n) < 1e16 {
		return strconv.FormatInt(int64(n), 10)
	}
	if math.IsNaN(n) {
		return "nan"
	}
	if math.IsInf(n, 1) {
		return "inf"
	}
	if math.IsInf(n, -1) {
		return "-inf"
	}
	return awkSprintf(format, []awkValue{numVal(n)}, "%.6g")
}

func compareValues(a, b awkValue, convfmt string) int {
	if a.isNumeric() && b.isNumeric() {
		x, y := a.num(), b.num()
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a.str(convfmt), b.str(convfmt))
}

func (v awkValue) str(convfmt string) string {
	switch v.kind {
	case kNum:
		return formatNum(v.n, convfmt)
	case kStr, kStrNum:
		return v.s
	}
	return ""
}
