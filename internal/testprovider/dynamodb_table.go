package main

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// payPerRequest is the only billing mode: provisioned capacity would drag in
// read_capacity, write_capacity and autoscaling for nothing a pipeline test needs.
const payPerRequest = "PAY_PER_REQUEST"

type dynamoDBTable struct{ configured }

func newDynamoDBTable() resource.Resource { return &dynamoDBTable{} }

type dynamoDBTableModel struct {
	ID          types.String          `tfsdk:"id"`
	Name        types.String          `tfsdk:"name"`
	HashKey     types.String          `tfsdk:"hash_key"`
	BillingMode types.String          `tfsdk:"billing_mode"`
	Attributes  []tableAttributeModel `tfsdk:"attribute"`
	Tags        types.Map             `tfsdk:"tags"`
	ARN         types.String          `tfsdk:"arn"`
}

type tableAttributeModel struct {
	Name types.String `tfsdk:"name"`
	Type types.String `tfsdk:"type"`
}

func (r *dynamoDBTable) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dynamodb_table"
}

func (r *dynamoDBTable) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A DynamoDB table with a hash key only; the id is the table name.",
		Attributes: map[string]schema.Attribute{
			"id":       idAttribute,
			"name":     requiredForceNew("Table name."),
			"hash_key": requiredForceNew("Partition key; must be one of the attribute blocks."),
			"billing_mode": schema.StringAttribute{
				Optional:      true,
				Computed:      true,
				Default:       stringdefault.StaticString(payPerRequest),
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Description:   "Only PAY_PER_REQUEST.",
			},
			"tags": tagsAttribute,
			"arn":  arnAttribute,
		},
		Blocks: map[string]schema.Block{
			"attribute": schema.SetNestedBlock{
				Description:   "Key attribute definitions: name and type (S, N or B).",
				PlanModifiers: []planmodifier.Set{setplanmodifier.RequiresReplace()},
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Required: true},
					"type": schema.StringAttribute{Required: true},
				}},
			},
		},
	}
}

// ValidateConfig catches, at plan time, what the real provider or DynamoDB would reject.
func (r *dynamoDBTable) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m dynamoDBTableModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if mode := m.BillingMode; !mode.IsNull() && !mode.IsUnknown() && mode.ValueString() != payPerRequest {
		resp.Diagnostics.AddAttributeError(path.Root("billing_mode"), "Unsupported billing_mode",
			fmt.Sprintf("billing_mode %q is not supported by the test provider; valid values: %s", mode.ValueString(), payPerRequest))
	}
	hashKeyDefined := false
	for _, a := range m.Attributes {
		switch t := a.Type.ValueString(); {
		case a.Type.IsUnknown(), t == "S", t == "N", t == "B":
		default:
			resp.Diagnostics.AddAttributeError(path.Root("attribute"), "Invalid attribute type",
				fmt.Sprintf("attribute %q has type %q; valid values: S, N, B", a.Name.ValueString(), t))
		}
		if a.Name.IsUnknown() || a.Name.Equal(m.HashKey) {
			hashKeyDefined = true
		}
	}
	if !m.HashKey.IsUnknown() && !hashKeyDefined {
		resp.Diagnostics.AddAttributeError(path.Root("hash_key"), "Undefined hash_key",
			fmt.Sprintf("hash_key %q needs an attribute block with that name", m.HashKey.ValueString()))
	}
}

func (r *dynamoDBTable) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan dynamoDBTableModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	tags, diags := r.withDefaults(ctx, plan.Tags)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String(plan.HashKey.ValueString()), KeyType: ddbtypes.KeyTypeHash},
		},
	}
	for _, a := range plan.Attributes {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.Name.ValueString()),
			AttributeType: ddbtypes.ScalarAttributeType(a.Type.ValueString()),
		})
	}
	in.Tags = tagList(tags, ddbTag)
	out, err := r.c.dynamodb.CreateTable(ctx, in)
	if err != nil {
		resp.Diagnostics.AddError("Create DynamoDB table "+name, err.Error())
		return
	}
	plan.ID = types.StringValue(name)
	plan.ARN = types.StringValue(aws.ToString(out.TableDescription.TableArn))
	resp.Diagnostics.Append(resp.State.Set(ctx, plan)...)
	waiter := dynamodb.NewTableExistsWaiter(r.c.dynamodb, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute); err != nil {
		resp.Diagnostics.AddError("Wait for DynamoDB table "+name+" to become active", err.Error())
	}
}

func (r *dynamoDBTable) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state dynamoDBTableModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	out, err := r.c.dynamodb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if isNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Read DynamoDB table "+name, err.Error())
		return
	}
	table := out.Table
	var diags diag.Diagnostics
	state.Tags, diags = r.readTags(ctx, r, aws.ToString(table.TableArn), "DynamoDB table", state.Tags)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	state.Name = types.StringValue(aws.ToString(table.TableName))
	state.ARN = types.StringValue(aws.ToString(table.TableArn))
	// No summary means provisioned capacity, as on AWS: that shows as a difference.
	state.BillingMode = types.StringValue(string(ddbtypes.BillingModeProvisioned))
	if table.BillingModeSummary != nil {
		state.BillingMode = types.StringValue(string(table.BillingModeSummary.BillingMode))
	}
	for _, k := range table.KeySchema {
		if k.KeyType == ddbtypes.KeyTypeHash {
			state.HashKey = types.StringValue(aws.ToString(k.AttributeName))
		}
	}
	state.Attributes = nil
	for _, a := range table.AttributeDefinitions {
		state.Attributes = append(state.Attributes, tableAttributeModel{
			Name: types.StringValue(aws.ToString(a.AttributeName)),
			Type: types.StringValue(string(a.AttributeType)),
		})
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *dynamoDBTable) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.updateTags(ctx, r, "arn", "DynamoDB table", req, resp)
}

func (r *dynamoDBTable) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	deleteByID(ctx, "DynamoDB table", req, resp, func(name string) error {
		_, err := r.c.dynamodb.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		return err
	})
}

// tags pages through the table's tags. DynamoDB's tagging calls take the table's ARN, not
// its name.
func (r *dynamoDBTable) tags(ctx context.Context, arn string) (map[string]string, error) {
	tags := map[string]string{}
	in := &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(arn)}
	for {
		out, err := r.c.dynamodb.ListTagsOfResource(ctx, in)
		if err != nil {
			return nil, err
		}
		maps.Copy(tags, tagMap(out.Tags, func(t ddbtypes.Tag) (*string, *string) { return t.Key, t.Value }))
		if out.NextToken == nil {
			return tags, nil
		}
		in.NextToken = out.NextToken
	}
}

func (r *dynamoDBTable) setTags(ctx context.Context, arn string, tags map[string]string) error {
	return replaceTags(ctx, r, arn, tags)
}

func (r *dynamoDBTable) tag(ctx context.Context, arn string, set map[string]string) error {
	_, err := r.c.dynamodb.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String(arn), Tags: tagList(set, ddbTag)})
	return err
}

func (r *dynamoDBTable) untag(ctx context.Context, arn string, remove []string) error {
	_, err := r.c.dynamodb.UntagResource(ctx, &dynamodb.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: remove})
	return err
}

func ddbTag(key, value *string) ddbtypes.Tag { return ddbtypes.Tag{Key: key, Value: value} }
