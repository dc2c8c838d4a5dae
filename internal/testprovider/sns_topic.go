package main

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type snsTopic struct{ configured }

func newSNSTopic() resource.Resource { return &snsTopic{} }

type snsTopicModel struct {
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
	Tags types.Map    `tfsdk:"tags"`
	ARN  types.String `tfsdk:"arn"`
}

func (r *snsTopic) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_sns_topic"
}

func (r *snsTopic) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "An SNS topic; the id is the topic ARN, as in the real provider.",
		Attributes: map[string]schema.Attribute{
			"id":   idAttribute,
			"name": requiredForceNew("Topic name."),
			"tags": tagsAttribute,
			"arn":  arnAttribute,
		},
	}
}

func (r *snsTopic) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan snsTopicModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	tags, diags := r.withDefaults(ctx, plan.Tags)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	out, err := r.c.sns.CreateTopic(ctx, &sns.CreateTopicInput{
		Name: aws.String(plan.Name.ValueString()),
		Tags: tagList(tags, snsTag),
	})
	if err != nil {
		resp.Diagnostics.AddError("Create SNS topic "+plan.Name.ValueString(), err.Error())
		return
	}
	plan.ID = types.StringValue(aws.ToString(out.TopicArn))
	plan.ARN = plan.ID
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
}

func (r *snsTopic) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state snsTopicModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	arn := state.ID.ValueString()
	_, err := r.c.sns.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if isNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Read SNS topic "+arn, err.Error())
		return
	}
	var diags diag.Diagnostics
	state.Tags, diags = r.readTags(ctx, r, arn, "SNS topic", state.Tags)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	state.ARN = types.StringValue(arn)
	state.Name = types.StringValue(arn[strings.LastIndex(arn, ":")+1:]) // arn:aws:sns:region:account:name
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *snsTopic) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.updateTags(ctx, r, "arn", "SNS topic", req, resp)
}

func (r *snsTopic) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	deleteByID(ctx, "SNS topic", req, resp, func(arn string) error {
		_, err := r.c.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)})
		return err
	})
}

func (r *snsTopic) tags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := r.c.sns.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	return tagMap(out.Tags, func(t snstypes.Tag) (*string, *string) { return t.Key, t.Value }), nil
}

func (r *snsTopic) setTags(ctx context.Context, arn string, tags map[string]string) error {
	return replaceTags(ctx, r, arn, tags)
}

func (r *snsTopic) tag(ctx context.Context, arn string, set map[string]string) error {
	_, err := r.c.sns.TagResource(ctx, &sns.TagResourceInput{ResourceArn: aws.String(arn), Tags: tagList(set, snsTag)})
	return err
}

func (r *snsTopic) untag(ctx context.Context, arn string, remove []string) error {
	_, err := r.c.sns.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: remove})
	return err
}

func snsTag(key, value *string) snstypes.Tag { return snstypes.Tag{Key: key, Value: value} }
