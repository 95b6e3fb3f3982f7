"""Training of the detector and the classifiers, and calibration of the MRI threshold."""
