print("osusume")
