package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxJUnit bounds what ReadJUnit accepts: a pipeline's junit.xml is kilobytes.
const maxJUnit = 16 << 20

// ReadJUnit reads back a junit.xml that JUnit wrote (a testsuites document), so the
// reports of several runs can be merged into one; name labels errors.
func ReadJUnit(name string, data []byte) ([]Suite, error) {
	if len(data) > maxJUnit {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a pipeline's junit.xml", name, maxJUnit)
	}
	var doc junitSuites
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not JUnit XML (a testsuites document): %w", name, err)
	}
	suites := make([]Suite, 0, len(doc.Suites))
	for i, js := range doc.Suites {
		s := Suite{Name: js.Name}
		for j, jc := range js.Cases {
			d, err := readSeconds(jc.Time)
			if err != nil {
				return nil, fmt.Errorf("%s: testsuite %d testcase %d: time %q: %w", name, i, j, jc.Time, err)
			}
			c := Case{Name: jc.Name, Classname: jc.Classname, Time: d, Output: jc.SystemOut}
			switch {
			case jc.Failure != nil:
				// JUnit writes a failure's details as its text, with no system-out.
				c.Failure, c.Output = jc.Failure.Message, jc.Failure.Text
				if c.Failure == "" {
					c.Failure = "failed"
				}
			case jc.Skipped != nil:
				c.Skipped = jc.Skipped.Message
				if c.Skipped == "" {
					c.Skipped = "skipped"
				}
			}
			if c.Classname == js.Name {
				c.Classname = "" // JUnit fills in the suite's name
			}
			s.Cases = append(s.Cases, c)
		}
		suites = append(suites, s)
	}
	return suites, nil
}

// readSeconds reads a JUnit time attribute ("1.250"); empty is zero.
func readSeconds(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f > 1e6 {
		return 0, fmt.Errorf("not a number of seconds from 0 to 1e6")
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond), nil
}
