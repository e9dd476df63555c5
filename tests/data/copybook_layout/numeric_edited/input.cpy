       01  REPORT-LINE.
           05  RL-AMOUNT       PIC ZZ,ZZ9.99CR.
           05  RL-CHEQUE       PIC ***,**9.99.
           05  RL-FLOAT        PIC $$$,$$9.99-.
           05  RL-POUNDS       PIC £££,££9.99DB.
           05  RL-SIGN         PIC +++9.
           05  RL-DATE         PIC 99/99/9999.
           05  RL-IMPLIED      PIC ZZ9V99 BLANK WHEN ZERO.
           05  RL-WIDE         PIC Z(30)9.
