package report

import (
	"reflect"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/journal"
)

// Journal text comes from remote hosts and runbooks: before it reaches a
// terminal, control characters (escape sequences above all) are removed, so
// that no host can move the cursor, retitle the window or hide a line.

// cleanText removes control characters from s, keeping line breaks; a tab
// becomes a space.
func cleanText(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r != '\n' && isControl(r) }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case isControl(r):
			return -1
		}
		return r
	}, s)
}

// cleanRecord cleans, in place, the text fields of r that a terminal shows.
func cleanRecord(r *journal.Record) {
	for _, f := range []*string{&r.RunID, &r.Runbook, &r.Operator, &r.Controller, &r.Phase, &r.PhaseKind, &r.Host,
		&r.StepID, &r.Step, &r.DelegateTo, &r.Status, &r.Error, &r.Stderr, &r.Outcome, &r.FailedStep, &r.Text,
		&r.Prompt, &r.Decision, &r.By, &r.Via, &r.Reason, &r.RunbookFile, &r.Inventory, &r.Limit, &r.Diff} {
		*f = cleanText(*f)
	}
	if len(r.Hosts) > 0 {
		hosts := make([]string, len(r.Hosts))
		for i, h := range r.Hosts {
			hosts[i] = cleanText(h)
		}
		r.Hosts = hosts
	}
}

// cleanSummary returns a deep copy of s with every string cleaned.
func cleanSummary(s *Summary) *Summary {
	c := cleanValue(reflect.ValueOf(*s)).Interface().(Summary)
	return &c
}

var timeType = reflect.TypeOf(time.Time{})

func cleanValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.String:
		return reflect.ValueOf(cleanText(v.String())).Convert(v.Type())
	case reflect.Struct:
		if v.Type() == timeType {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if c.Field(i).CanSet() {
				c.Field(i).Set(cleanValue(v.Field(i)))
			}
		}
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			c.Index(i).Set(cleanValue(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		iter := v.MapRange()
		for iter.Next() {
			c.SetMapIndex(cleanValue(iter.Key()), cleanValue(iter.Value()))
		}
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(cleanValue(v.Elem()))
		return c
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type()).Elem()
		c.Set(cleanValue(v.Elem()))
		return c
	}
	return v
}
