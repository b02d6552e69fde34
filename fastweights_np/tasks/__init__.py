"""The paper's tasks: data generators and the models that read them."""
