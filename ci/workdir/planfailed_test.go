package workdir

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/report"
)

// failedImportPlan is the end of `terraform plan -no-color` importing a bucket deleted after
// discovery (Terraform 1.11.4 with moto; ci/importer/testdata/plan-import-failed.txt), as
// commands.Plan prints it: the targeting warning, then the error.
const failedImportPlan = `Plan: 1 to import, 0 to add, 1 to change, 0 to destroy.

Warning: Resource targeting is in effect

You are creating a plan with the -target option, which means that the result
of this plan may not represent all of the changes requested by the current
configuration.

Error: Cannot import non-existent remote object

While attempting to import an existing object to "aws_s3_bucket.assets", the
provider detected that no object exists with the given id. Only pre-existing
objects can be imported; check that the id is correct and that it is
associated with the provider's configured region or endpoint, or use
"terraform apply" to create a new remote object for this resource.
`

// A failed import plan still reports every row, failed with Terraform's error, inside the
// error the function returns (it cannot return import-report.md beside it).
func TestImportPlanFailureCarriesTheReport(t *testing.T) {
	pending := func(addr, id string) importer.Entry {
		return importer.Entry{ARN: "arn:" + id, Type: strings.Split(addr, ".")[0], ID: id, Address: addr, Status: importer.Import}
	}
	im := &Mapping{Plan: &importer.Plan{Entries: []importer.Entry{
		pending("aws_s3_bucket.assets", "shop-prod-assets"),
		pending("aws_sns_topic.events", "arn:aws:sns:us-east-1:123456789012:shop-prod-events"),
	}}}
	// As pipeline.StepFailed words a failed step, with tail's blank lines dropped.
	cause := fmt.Errorf("terraform plan -target=aws_s3_bucket.assets -target=aws_sns_topic.events failed in prod (exit code 1):\n%s", report.Tail(failedImportPlan, 60))
	err := im.PlanFailed("prod", false, cause)
	if !errors.Is(err, cause) {
		t.Fatalf("the error no longer wraps the plan's failure: %v", err)
	}
	for _, want := range []string{
		"import into prod: terraform plan -target=aws_s3_bucket.assets",
		"| failed | `aws_s3_bucket.assets`",
		"| failed | `aws_sns_topic.events`",
		"the run failed: Cannot import non-existent remote object: While attempting to import an existing object to",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%s", want, err)
		}
	}
	if im.Plan.Err() == nil {
		t.Errorf("the mapping still holds pending imports: %+v", im.Plan.Entries)
	}
}
