"""The GraphQL API (Strawberry): the decision graph and the analyses, for internal tools."""
