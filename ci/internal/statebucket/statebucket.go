// Package statebucket words the one S3 failure every reader of the state bucket meets
// first: a bucket that does not exist, which the SDK reports as a 404 wrapped in request
// IDs. A typo in backend.bucket then reads as what it is.
package statebucket

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MissingError is a state bucket that does not exist.
type MissingError struct{ Bucket string }

func (e *MissingError) Error() string {
	return "state bucket " + e.Bucket + " does not exist: create it, with versioning on, or correct backend.bucket in pipeline.yaml"
}

// Check returns err unchanged, unless S3 said that bucket does not exist: then a
// *MissingError.
func Check(err error, bucket string) error {
	var missing *types.NoSuchBucket
	if errors.As(err, &missing) {
		return &MissingError{Bucket: bucket}
	}
	return err
}
