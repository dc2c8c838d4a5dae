package report

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"time"
)

// Suite is one JUnit test suite: a group of post-deploy tests or checks.
type Suite struct {
	Name  string
	Cases []Case
}

// Case is one test or check. A Case with neither Failure nor Skipped passed.
type Case struct {
	Name      string
	Classname string // e.g. the environment or the tool; defaults to the suite name
	Time      time.Duration
	// Failure is the one-line message of a failed case; Output holds the details.
	Failure string
	Skipped string // why the case did not run
	Output  string
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit writes suites in the JUnit XML format that test reporters (GitHub check annotations,
// dorny/test-reporter, GitLab) read: testsuites > testsuite > testcase with failure/skipped.
func JUnit(suites []Suite) ([]byte, error) {
	out := junitSuites{Suites: []junitSuite{}}
	var total time.Duration
	for _, s := range suites {
		js := junitSuite{Name: s.Name, Cases: []junitCase{}}
		var suiteTime time.Duration
		for _, c := range s.Cases {
			jc := junitCase{Name: c.Name, Classname: c.Classname, Time: seconds(c.Time), SystemOut: c.Output}
			if jc.Classname == "" {
				jc.Classname = s.Name
			}
			switch {
			case c.Failure != "":
				jc.Failure = &junitMessage{Message: c.Failure, Type: "failure", Text: c.Output}
				jc.SystemOut = ""
				js.Failures++
			case c.Skipped != "":
				jc.Skipped = &junitMessage{Message: c.Skipped}
				js.Skipped++
			}
			js.Tests++
			suiteTime += c.Time
			js.Cases = append(js.Cases, jc)
		}
		js.Time = seconds(suiteTime)
		total += suiteTime
		out.Tests += js.Tests
		out.Failures += js.Failures
		out.Skipped += js.Skipped
		out.Suites = append(out.Suites, js)
	}
	out.Time = seconds(total)
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write JUnit XML: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
