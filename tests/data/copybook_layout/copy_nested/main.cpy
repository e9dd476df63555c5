       01  DEEP-REC.
           COPY LEVEL1.
