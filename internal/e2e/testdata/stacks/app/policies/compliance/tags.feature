Feature: Every resource is tagged

  Scenario: Buckets carry a Project tag
    Given I have aws_s3_bucket defined
    Then it must contain tags
    And it must contain Project
