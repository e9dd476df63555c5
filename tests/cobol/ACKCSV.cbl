      *****************************************************************
      * ACKCSV - PLAYS THE BACK OFFICE THAT TAKES FERRY'S DELIMITED   *
      * CLAIMS FILE (DELIMITER ',', LF, NO CELL NEEDING QUOTES) AND   *
      * ANSWERS WITH A DELIMITED ACKNOWLEDGEMENT FILE IN THE SAME     *
      * DIALECT: A HEADER ROW, THEN ONE LINE PER CLAIM.  ITS COLUMNS  *
      * ARE IN ITS OWN ORDER (FERRY FINDS THEM BY NAME).  A CLAIM IS  *
      * REJECTED WHEN ITS NINO EQUALS ENV REJECTNINO (E01, WITH WORDS *
      * HOLDING THE DELIMITER, SO QUOTED WITH ITS QUOTES DOUBLED);    *
      * OTHERWISE ACCEPTED WITH A CASE NUMBER FROM ENV CASEBASE.      *
      * USAGE: CSVFILE=IN ACKFILE=OUT REJECTNINO=.. CASEBASE=..       *
      * RETURN-CODE 0 OK, 12 FILE ERROR.                              *
      *****************************************************************
       IDENTIFICATION DIVISION.
       PROGRAM-ID. ACKCSV.
       ENVIRONMENT DIVISION.
       INPUT-OUTPUT SECTION.
       FILE-CONTROL.
           SELECT CSV-FILE ASSIGN TO CSVFILE
               ORGANIZATION IS LINE SEQUENTIAL
               FILE STATUS IS WS-STATUS.
           SELECT ACK-FILE ASSIGN TO ACKFILE
               ORGANIZATION IS LINE SEQUENTIAL
               FILE STATUS IS WS-ASTATUS.
       DATA DIVISION.
       FILE SECTION.
       FD  CSV-FILE.
       01  CSV-LINE                  PIC X(400).
       FD  ACK-FILE.
       01  ACK-LINE                  PIC X(200).
       WORKING-STORAGE SECTION.
       01  WS-STATUS                 PIC XX.
       01  WS-ASTATUS                PIC XX.
       01  WS-EOF                    PIC X VALUE 'N'.
       01  WS-LINES                  PIC 9(07) VALUE 0.
       01  WS-CASE                   PIC 9(07) VALUE 0.
       01  WS-REJECT-NINO            PIC X(9).
       01  WS-CASEBASE-X             PIC X(7).
       01  WS-CASEBASE               PIC 9(7) VALUE 0.
       01  WS-PTR                    PIC 9(3).
       01  WS-F.
           05  F-REF                 PIC X(30).
           05  F-FORM-REF            PIC X(20).
           05  F-NINO                PIC X(9).
       PROCEDURE DIVISION.
       MAIN.
           ACCEPT WS-REJECT-NINO FROM ENVIRONMENT 'REJECTNINO'
           ACCEPT WS-CASEBASE-X FROM ENVIRONMENT 'CASEBASE'
           IF WS-CASEBASE-X NOT = SPACES
               MOVE FUNCTION NUMVAL(WS-CASEBASE-X) TO WS-CASEBASE
           END-IF
           OPEN INPUT CSV-FILE
           OPEN OUTPUT ACK-FILE
           IF WS-STATUS NOT = '00' OR WS-ASTATUS NOT = '00'
               DISPLAY 'OPEN FAILED ' WS-STATUS ' ' WS-ASTATUS
               MOVE 12 TO RETURN-CODE
               STOP RUN
           END-IF
           MOVE 'case_no,reference,reason_text,outcome,reason_code'
               TO ACK-LINE
           WRITE ACK-LINE
           PERFORM UNTIL WS-EOF = 'Y'
               READ CSV-FILE
                   AT END MOVE 'Y' TO WS-EOF
                   NOT AT END PERFORM ONE-LINE
               END-READ
           END-PERFORM
           CLOSE CSV-FILE ACK-FILE
           DISPLAY 'ACKS ' WS-CASE
           STOP RUN.
       ONE-LINE.
           ADD 1 TO WS-LINES
           MOVE SPACES TO WS-F
           UNSTRING CSV-LINE DELIMITED BY ','
               INTO F-REF F-FORM-REF F-NINO
           END-UNSTRING
           IF WS-LINES > 1 AND F-REF NOT = 'T'
               ADD 1 TO WS-CASE
               MOVE SPACES TO ACK-LINE
               MOVE 1 TO WS-PTR
               IF F-NINO = WS-REJECT-NINO
                   STRING ',' FUNCTION TRIM(F-REF) ','
                          '"NINO NOT KNOWN, SEE ""LETTER 4"""'
                          ',R,E01'
                       DELIMITED BY SIZE INTO ACK-LINE
                       WITH POINTER WS-PTR
                   END-STRING
               ELSE
                   ADD 1 TO WS-CASEBASE
                   STRING 'CASE' WS-CASEBASE ',' FUNCTION TRIM(F-REF)
                          ',,A,'
                       DELIMITED BY SIZE INTO ACK-LINE
                       WITH POINTER WS-PTR
                   END-STRING
               END-IF
               WRITE ACK-LINE
           END-IF.
