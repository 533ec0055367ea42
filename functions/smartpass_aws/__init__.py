"""What several functions (and the operator CLI) share that reaches AWS: boto3 clients, the
signing keys read through Powertools Parameters, reports to the operator topic and e-mail, the
district secret writer, and the service bundles handed to the domain. May use Powertools and
boto3; the domain (`smartpass`) may not, and never imports this package."""

import warnings

# Powertools' log_metrics warns "No application metrics to publish" (a UserWarning on stderr)
# after every invocation that counted nothing, and some count nothing by design: /health, the
# login code's exchange, the status pages. Every handler imports this package, so the filter
# Powertools' documentation gives for such functions is set once here for all of them.
warnings.filterwarnings("ignore", "No application metrics to publish.*")
