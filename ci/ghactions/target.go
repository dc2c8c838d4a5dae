package ghactions

import (
	"errors"
	"fmt"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// TargetLine is resolve-env's answer for NewContext's result: "<environment><TAB><why>\n".
// A run with nothing to deploy (a push that deleted a branch or tag) is "none<TAB><why>\n",
// not an error, so the workflow skips its jobs instead of failing.
func TargetLine(c *Context, err error) (string, error) {
	if errors.Is(err, environment.ErrNothingToDeploy) {
		return fmt.Sprintf("none\t%s\n", err), nil
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s\t%s\n", c.Target.Name, c.Target.Why), nil
}
