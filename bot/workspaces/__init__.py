"""Workspaces: "Adicionar ao Slack" (OAuth), uninstalls and the deletion of a workspace's data,
and the check that every request belongs to the workspace that answers it."""
