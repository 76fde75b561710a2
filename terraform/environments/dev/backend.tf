# State lives in S3, locked with an S3 lock file. The bucket and Region are
# given at init time (partial configuration), from a file made from the
# example beside this one:
#   cp backend.hcl.example backend.hcl   # then edit bucket and region
#   terraform init -backend-config=backend.hcl
terraform {
  backend "s3" {}
}
