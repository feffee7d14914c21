"""DynamoDB through PynamoDB: the tables, and one adapter per aggregate on top of them."""
