"""What several functions (and the operator CLI) share that reaches AWS: boto3 clients, the
signing keys read through Powertools Parameters, reports to the operator topic and e-mail, the
district secret writer, and the service bundles handed to the domain. May use Powertools and
boto3; the domain (`smartpass`) may not, and never imports this package."""
