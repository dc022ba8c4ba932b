"""The API's routers, one per resource, in the order the OpenAPI document lists them. A new
route goes into its resource's router; a new resource is a module here added to ``ROUTERS``."""

from fastapi import APIRouter

from flowrisk.api.routes import entities, model, operations, scores

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (scores.router, entities.router, model.router, operations.router)
