-- input
SELECT employer FROM hrss_social_insurance
-- error
未获授权的字段：hrss-social-insurance.employer (fields not granted: hrss-social-insurance.employer)
