"""Cross-department sharing: requests, approvals, grants, masking and governed reads."""
