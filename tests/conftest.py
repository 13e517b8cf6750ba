"""Shared fixtures."""

import pytest

import mlsysim


@pytest.fixture(scope="session")
def hardware():
    return mlsysim.Hardware.all()


@pytest.fixture(scope="session")
def models():
    return mlsysim.Models.all()
