# Example terraform-compliance feature (1.x step syntax): no administration or database
# port is open to the internet, mirroring the built-in Rego pack's admin_ingress rule.
Feature: Security groups keep administration ports off the internet
  In order to reduce the attack surface
  As platform engineers
  We never open SSH, RDP or database ports to 0.0.0.0/0

  Scenario Outline: No admin port open to the world
    Given I have AWS Security Group defined
    When it has ingress
    Then it must not have <proto> protocol and port <port> for 0.0.0.0/0

    Examples:
      | name       | proto | port  |
      | SSH        | tcp   | 22    |
      | RDP        | tcp   | 3389  |
      | MySQL      | tcp   | 3306  |
      | PostgreSQL | tcp   | 5432  |
      | SQL Server | tcp   | 1433  |
