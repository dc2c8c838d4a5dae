package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type s3Bucket struct{ configured }

func newS3Bucket() resource.Resource { return &s3Bucket{} }

type s3BucketModel struct {
	ID           types.String `tfsdk:"id"`
	Bucket       types.String `tfsdk:"bucket"`
	ForceDestroy types.Bool   `tfsdk:"force_destroy"`
	Tags         types.Map    `tfsdk:"tags"`
	ARN          types.String `tfsdk:"arn"`
}

func (r *s3Bucket) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_s3_bucket"
}

func (r *s3Bucket) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "An S3 bucket; the id is the bucket name.",
		Attributes: map[string]schema.Attribute{
			"id":     idAttribute,
			"bucket": requiredForceNew("Bucket name."),
			"force_destroy": schema.BoolAttribute{
				Optional:    true,
				Computed:    true,
				Default:     booldefault.StaticBool(false),
				Description: "Delete every object (and version) on destroy so a non-empty bucket can go.",
			},
			"tags": tagsAttribute,
			"arn":  arnAttribute,
		},
	}
}

func (r *s3Bucket) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan s3BucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Bucket.ValueString()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if r.c.region != "us-east-1" { // us-east-1 rejects an explicit location constraint
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(r.c.region),
		}
	}
	if _, err := r.c.s3.CreateBucket(ctx, in); err != nil {
		resp.Diagnostics.AddError("Create S3 bucket "+name, err.Error())
		return
	}
	tags, diags := r.withDefaults(ctx, plan.Tags)
	resp.Diagnostics.Append(diags...)
	plan.ID = types.StringValue(name)
	plan.ARN = types.StringValue("arn:aws:s3:::" + name)
	// Saved before tagging: a tagging failure then taints the bucket rather than losing it.
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.setTags(ctx, name, tags); err != nil {
		resp.Diagnostics.AddError("Tag S3 bucket "+name, err.Error())
	}
}

func (r *s3Bucket) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state s3BucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	if _, err := r.c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}); err != nil {
		if isNotFound(err) {
			resp.State.RemoveResource(ctx)
			return
		}
		resp.Diagnostics.AddError("Read S3 bucket "+name, err.Error())
		return
	}
	var diags diag.Diagnostics
	state.Tags, diags = r.readTags(ctx, r, name, "S3 bucket", state.Tags)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	state.Bucket = types.StringValue(name)
	state.ARN = types.StringValue("arn:aws:s3:::" + name)
	if state.ForceDestroy.IsNull() { // after import, as the real provider does
		state.ForceDestroy = types.BoolValue(false)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *s3Bucket) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.updateTags(ctx, r, "id", "S3 bucket", req, resp)
}

func (r *s3Bucket) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state s3BucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	if state.ForceDestroy.ValueBool() {
		if err := r.empty(ctx, name); err != nil && !isNotFound(err) {
			resp.Diagnostics.AddError("Empty S3 bucket "+name, err.Error())
			return
		}
	}
	_, err := r.c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	if err != nil && !isNotFound(err) {
		resp.Diagnostics.AddError("Delete S3 bucket "+name, err.Error())
	}
}

// setTags replaces the bucket's whole tag set, which is how S3 tagging works.
func (r *s3Bucket) setTags(ctx context.Context, name string, tags map[string]string) error {
	if len(tags) == 0 {
		_, err := r.c.s3.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(name)})
		return err
	}
	_, err := r.c.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
		Bucket: aws.String(name),
		Tagging: &s3types.Tagging{TagSet: tagList(tags, func(k, v *string) s3types.Tag {
			return s3types.Tag{Key: k, Value: v}
		})},
	})
	return err
}

func (r *s3Bucket) tags(ctx context.Context, name string) (map[string]string, error) {
	out, err := r.c.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchTagSet" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return tagMap(out.TagSet, func(t s3types.Tag) (*string, *string) { return t.Key, t.Value }), nil
}

// empty deletes every object version and delete marker, page by page.
func (r *s3Bucket) empty(ctx context.Context, name string) error {
	pages := s3.NewListObjectVersionsPaginator(r.c.s3, &s3.ListObjectVersionsInput{Bucket: aws.String(name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list objects: %w", err)
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		_, err = r.c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(name),
			Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("delete objects: %w", err)
		}
	}
	return nil
}
