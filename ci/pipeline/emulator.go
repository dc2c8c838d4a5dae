package pipeline

import (
	"fmt"

	"github.com/infrapipe/infrapipe/ci/discovery"
)

// ForContainers rewrites the import IDs discovery built from one endpoint so that they hold
// another. Only SQS queues carry an address in their ID (the queue URL). Discovery runs in
// the module's own process, which reaches an emulator at an engine-given address; Terraform
// runs in containers that reach the same emulator under their own host name, and imports
// the queue by the URL as it sees it. endpoint is the containers' emulator address, or ""
// for AWS. The input is not changed.
func ForContainers(found []discovery.Resource, endpoint string) ([]discovery.Resource, error) {
	out := make([]discovery.Resource, len(found))
	for i, r := range found {
		if r.Type == discovery.SQSQueue {
			url, err := discovery.QueueURL(r.ARN, endpoint)
			if err != nil {
				return nil, fmt.Errorf("import ID of %s: %w", r.ARN, err)
			}
			r.ID = url
		}
		out[i] = r
	}
	return out, nil
}
