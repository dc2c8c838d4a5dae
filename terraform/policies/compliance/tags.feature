# Example terraform-compliance feature (1.x step syntax, as in terraform-compliance's own
# examples): the same tagging rule as the built-in Rego pack's required_tags, for teams who
# prefer to state policy in Gherkin.
Feature: Resources carry the pipeline's ownership tags
  In order to find, cost and clean up what each environment owns
  As platform engineers
  We require Project, Environment and Owner tags on every taggable resource

  Scenario Outline: Required tags are present and not empty
    Given I have resource that supports tags defined
    When it has tags
    Then it must contain <tag>
    And its value must match the ".+" regex

    Examples:
      | tag         |
      | Project     |
      | Environment |
      | Owner       |
